"""The bench's progress display: current cell, live requests/s, time left, one line per cell."""

from __future__ import annotations

import threading
import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.text import Text

from swarmbench.bench.matrix import BenchConfig
from swarmbench.generators.spec import LoadSpec
from swarmbench.results import CellKey, CellResult
from swarmbench.telemetry import metrics
from swarmbench.telemetry.scrape import counter_total

#: Start-up, verification, settling and shutdown around each measurement, for the estimate.
CELL_OVERHEAD_S = 6.0
POLL_INTERVAL_S = 1.0


def _requests_total(metrics_url: str) -> float | None:
    return counter_total(metrics_url, metrics.REQUESTS, timeout_s=0.5)


def describe(result: CellResult) -> Text:
    """One cell's outcome; plain text (a verdict may quote a server), never read as markup."""
    if result.failed:
        return Text(result.verdict)
    parts = [f"{result.rps or 0:,.0f} req/s"]
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


def label(key: CellKey) -> str:
    return f"{key.system} keep-alive {key.mode} {key.generator}"


class BenchProgress:
    def __init__(
        self,
        cells: list[CellKey],
        config: BenchConfig,
        header: str = "",
        console: Console | None = None,
    ):
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.header = header
        self.per_cell_s = config.profile.warmup_s + config.profile.duration_s + CELL_OVERHEAD_S
        self.remaining = len(cells)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[live]}"),
            TextColumn("~{task.fields[left]} left"),
            console=self.console,
            transient=True,
        )
        self.task: TaskID = self.progress.add_task("starting", total=len(cells), live="", left="?")
        self.cell_started = time.monotonic()
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
        in_cell = time.monotonic() - self.cell_started
        seconds = max(0.0, self.remaining * self.per_cell_s - in_cell)
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"

    def skip(self, key: CellKey, result: CellResult) -> None:
        self.remaining -= 1
        line = Text.assemble(f"{label(key)}: done before, skipped (", describe(result), ")")
        line.stylize("dim")
        self.console.print(line)
        self.progress.advance(self.task)

    def start_cell(self, key: CellKey, retrying: CellResult | None = None) -> None:
        if retrying is not None:
            self.console.print(Text(f"{label(key)}: failed before ({retrying.verdict}), again"))
        self.cell_started = time.monotonic()
        self.progress.update(self.task, description=label(key), live="", left=self._left())

    def measuring(self, spec: LoadSpec) -> None:
        bind = spec.metrics_bind
        self._end_poll()
        self.progress.update(self.task, live="measuring", left=self._left())
        if bind:
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

    def end_cell(self, key: CellKey, result: CellResult) -> None:
        self._end_poll()
        self.remaining -= 1
        self.console.print(Text.assemble(f"{label(key)}: ", describe(result)))
        self.progress.update(self.task, live="", left=self._left())
        self.progress.advance(self.task)
