"""The bench's progress display: the phase, the round, live requests/s, and the time left.

The estimate counts every measurement still to run at its planned length plus what starting
its generator costs (Locust starts a Python process; wrk and ab start at once), corrected by
how long the measurements so far actually took.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from swarmbench.bench.matrix import BenchConfig
from swarmbench.bench.schedule import Measurement
from swarmbench.generators.spec import LoadSpec
from swarmbench.results import CellResult
from swarmbench.telemetry import metrics
from swarmbench.telemetry.scrape import counter_total

#: Seconds a measurement costs beyond its planned length: the generator's start and stop.
START_COST_S = {"locust": 0.8, "wrk": 0.2, "ab": 0.3}
#: Per system and mode once: start, verification and warm-up beyond the warm-up itself.
TARGET_SETUP_S = 1.0
#: ab with a request count: the rate assumed for the estimate (ab reports its own at the end).
AB_ASSUMED_RPS = 30_000.0
POLL_INTERVAL_S = 1.0


def measurement_s(config: BenchConfig, generator: str) -> float:
    profile = config.profile
    planned = profile.duration_s
    if generator == "ab" and profile.ab_requests:
        planned = profile.ab_requests / AB_ASSUMED_RPS
    return planned + START_COST_S.get(generator, 1.0)


def estimate_s(config: BenchConfig, plan: list[Measurement]) -> float:
    """The planned run's length: its measurements and each target's set-up."""
    setups = {(m.key.system, m.key.keepalive) for m in plan}
    setup = len(setups) * (TARGET_SETUP_S + config.profile.warmup_s)
    return setup + sum(measurement_s(config, m.key.generator) for m in plan)


def clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _requests_total(metrics_url: str) -> float | None:
    return counter_total(metrics_url, metrics.REQUESTS, timeout_s=0.5)


def describe(result: CellResult) -> Text:
    """One cell's outcome; plain text (a verdict may quote a server), never read as markup."""
    if result.failed:
        return Text(result.verdict)
    parts = [f"{result.rps or 0:,.0f} req/s"]
    if result.offered_rps:
        parts[0] += f" (offered {result.offered_rps:,.0f})"
    if result.target_cpu_percent is not None:
        parts.append(f"target CPU {result.target_cpu_percent:.0f}%")
    p99 = result.latency_us.get("p99")
    if p99 is not None:
        parts.append(f"p99 {p99:,.0f} µs")
    if result.cpu_us_per_request is not None:
        parts.append(f"target {result.cpu_us_per_request:.1f} µs CPU/req")
    elif result.target_figures_missing:
        parts.append("target CPU unknown")
    if result.failures:
        parts.append(f"{result.failures:,} failures")
    if result.generator_bound:
        return Text.assemble(", ".join(parts) + ", ", ("generator-bound", "yellow"))
    return Text(", ".join(parts))


def label(item: Measurement) -> str:
    key = item.key
    text = f"{key.system} keep-alive {key.mode} {key.generator}"
    if key.load:
        text += f" at {key.load}%"
    return f"{text}, round {item.round + 1}/{item.rounds}"


class BenchProgress:
    def __init__(
        self,
        saturation: list[Measurement],
        same_traffic: list[Measurement],
        config: BenchConfig,
        header: str = "",
        console: Console | None = None,
    ):
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.config = config
        plan = saturation + same_traffic
        self.left_s = estimate_s(config, plan)
        self.phase_counts = {"saturation": len(saturation), "same traffic": len(same_traffic)}
        self.header = header
        if header:
            self.header += f"\nplanned: about {clock(self.left_s)} ({len(plan)} measurements)"
        self.phase = ""
        self.progress = Progress(
            TextColumn("[bold]{task.fields[phase]}[/]"),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[live]}"),
            TextColumn("~{task.fields[left]} left"),
            console=self.console,
            transient=True,
        )
        self.task: TaskID = self.progress.add_task(
            "starting", total=len(plan), live="", left=clock(self.left_s), phase=""
        )
        self.started = time.monotonic()
        self.planned = 0.0
        #: measured so far: planned and actual seconds, for the pace of this machine now
        self.planned_done = 0.0
        self.actual_done = 0.0
        self._poller: threading.Thread | None = None
        self._stop_poll = threading.Event()

    def __enter__(self) -> BenchProgress:
        if self.header:
            self.console.print(Text(self.header))
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end_poll()
        self.progress.stop()

    def _left(self) -> str:
        pace = self.actual_done / self.planned_done if self.planned_done else 1.0
        in_measurement = min(time.monotonic() - self.started, self.planned)
        return clock(self.left_s * pace - in_measurement)

    def start_phase(self, phase: str) -> None:
        self.phase = phase
        count = self.phase_counts.get(phase, 0)
        self.console.print(Text(f"phase: {phase} ({count} measurements)", style="bold"))
        self.progress.update(self.task, phase=phase)

    def skip(self, item: Measurement, result: CellResult | None) -> None:
        self.left_s -= measurement_s(self.config, item.key.generator)
        if result is None:
            why = "no flat-out figure to derive its rate from"
        elif result.failed:
            why = result.verdict
        else:
            why = "measured before"
        self.console.print(Text(f"{label(item)}: skipped ({why})", style="dim"))
        self.progress.update(self.task, left=self._left())
        self.progress.advance(self.task)

    def start(self, item: Measurement, retrying: CellResult | None = None) -> None:
        if retrying is not None:
            self.console.print(Text(f"{label(item)}: failed before ({retrying.verdict}), again"))
        self.started = time.monotonic()
        self.planned = measurement_s(self.config, item.key.generator)
        self.progress.update(self.task, description=label(item), live="", left=self._left())

    def measuring(self, spec: LoadSpec) -> None:
        bind = spec.metrics_bind
        self._end_poll()
        self.progress.update(self.task, live="measuring", left=self._left())
        if bind and spec.system:
            self._stop_poll.clear()
            url = f"http://{bind}/metrics"
            self._poller = threading.Thread(target=self._poll, args=(url,), daemon=True)
            self._poller.start()

    def _poll(self, url: str) -> None:
        last: tuple[float, float] | None = None
        while not self._stop_poll.wait(POLL_INTERVAL_S):
            total = _requests_total(url)
            now = time.monotonic()
            if total is not None and last is not None and now > last[0]:
                rps = (total - last[1]) / (now - last[0])
                self.progress.update(self.task, live=f"{rps:,.0f} req/s", left=self._left())
            if total is not None:
                last = (now, total)

    def _end_poll(self) -> None:
        self._stop_poll.set()
        if self._poller is not None:
            self._poller.join()
            self._poller = None

    def end(self, item: Measurement, result: CellResult) -> None:
        self._end_poll()
        # What is left is scaled by the pace so far, so a slow machine's estimate grows
        # instead of running out early.
        self.actual_done += time.monotonic() - self.started
        self.planned_done += self.planned
        self.left_s = max(0.0, self.left_s - self.planned)
        self.planned = 0.0
        rnd = result.rounds[-1] if result.rounds and not result.failed else None
        text = describe(result) if rnd is None else _round_text(rnd, result)
        self.console.print(Text.assemble(f"{label(item)}: ", text))
        self.progress.update(self.task, live="", left=self._left())
        self.progress.advance(self.task)


def _round_text(rnd: dict[str, object], cell: CellResult) -> Text:
    """One round's outcome, plain text with the warnings coloured."""
    rps = rnd.get("rps")
    head = f"{float(rps):,.0f} req/s" if isinstance(rps, (int, float)) else "n/a"
    if cell.offered_rps:
        head += f" (offered {cell.offered_rps:,.0f})"
    cpu = rnd.get("target_cpu_percent")
    if isinstance(cpu, (int, float)):
        head += f", target CPU {cpu:.0f}%"
    text = Text(head)
    failures = rnd.get("failures")
    if isinstance(failures, int) and failures:
        text.append(", ").append(f"{failures:,} failures", style="red")
    if rnd.get("generator_bound"):
        text.append(", ").append("generator-bound", style="yellow")
    return text
