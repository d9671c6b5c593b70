"""The plugin's cost: one locustfile run as plain Locust and with swarmbench's plugin, alike.

The locustfile (by default Locust's FastHttpUser sending GET / over keep-alive, the reference
the plugin is held to) runs alternately without and with the plugin as one more -f entry
(ABBA order, so a drift of the machine's speed hits both sides alike), pinned to one core,
against rust-std pinned to another. Both sides also load a small window file that reads the
process's CPU time and Locust's request count at test_start and test_stop: two events per run,
nothing per request, so both are measured the same way. The figure is the generator's CPU
microseconds per request; each round's ratio plugin / plain, and their median, are the result
(goal: at most 1.05).
"""

from __future__ import annotations

import json
import os
import statistics
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from swarmbench.errors import UsageError
from swarmbench.generators.locust import PLUGIN_LOCUSTFILE, locust_command
from swarmbench.generators.runner import run_local
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.targets import process, registry
from swarmbench.util import atomic, processes

TARGET = "rust-std"
GOAL_RATIO = 1.05
DEFAULT_USER_CLASS = "FastKeepAlive"
#: Written beside the run when no --locustfile is given.
DEFAULT_LOCUSTFILE = textwrap.dedent(
    """
    from locust import FastHttpUser, task

    class FastKeepAlive(FastHttpUser):
        @task
        def index(self):
            self.client.get("/")
    """
)
#: Both sides load this: the measured window, from test_start to test_stop (users stopped).
WINDOW_LOCUSTFILE = textwrap.dedent(
    """
    import json
    import os
    import time

    from locust import events

    OUT = {out!r}
    _start = {{}}


    def _cpu():
        times = os.times()
        return times.user + times.system


    @events.test_start.add_listener
    def _window_start(environment, **_kwargs):
        _start.update(cpu=_cpu(), wall=time.monotonic())


    @events.test_stop.add_listener
    def _window_stop(environment, **_kwargs):
        total = environment.runner.stats.total
        with open(OUT, "w") as out:
            json.dump({{"cpu_seconds": _cpu() - _start["cpu"],
                       "wall_seconds": time.monotonic() - _start["wall"],
                       "requests": total.num_requests, "failures": total.num_failures}}, out)
    """
)


class WindowedLocust:
    """A locustfile with the CPU window file, and swarmbench's plugin when `plugin` is set."""

    tool = "locust"

    def __init__(self, locustfile: Path | None, user_class: str, *, plugin: bool) -> None:
        self.name = "plugin" if plugin else "plain"
        self.locustfile = locustfile
        self.user_class = user_class
        self.plugin = plugin

    def supports(self, spec: LoadSpec) -> str | None:
        return None

    def command(self, spec: LoadSpec, workdir: Path) -> list[str]:
        locustfile = self.locustfile
        if locustfile is None:
            locustfile = workdir / "fast_keepalive.py"
            locustfile.write_text(DEFAULT_LOCUSTFILE)
        window = workdir / "cpu_window.py"
        window.write_text(WINDOW_LOCUSTFILE.format(out=str(workdir / "window.json")))
        extra = (window, PLUGIN_LOCUSTFILE) if self.plugin else (window,)
        return locust_command(
            self.user_class,
            locustfile=locustfile,
            extra_locustfiles=extra,
            users=spec.connections,
            run_time_s=spec.duration_s,
            host=spec.url.rstrip("/"),  # Locust's clients join host and path
            metrics_bind="" if self.plugin else None,  # the plugin's option; nothing to scrape
            extra=("--only-summary", "--loglevel", "WARNING", "--stop-timeout", "2"),
        )

    def parse(self, stdout: str, workdir: Path) -> GeneratorRun:
        data = json.loads((workdir / "window.json").read_text())
        wall = float(data["wall_seconds"])
        return GeneratorRun(
            requests=int(data["requests"]),
            failures=int(data["failures"]),
            failures_by_reason={},
            duration_s=wall,
            rps=int(data["requests"]) / wall if wall > 0 else 0.0,
            latency_us={},
            latency_resolution_us=1000.0,
            window_cpu_seconds=float(data["cpu_seconds"]),
        )


@dataclass
class Sample:
    round: int
    side: str
    requests: int
    failures: int
    cpu_s: float
    wall_s: float

    @property
    def us_per_request(self) -> float:
        return 1e6 * self.cpu_s / self.requests if self.requests else float("nan")

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class Settings:
    duration_s: float
    users: int
    rounds: int
    generator_cpu: int
    target_cpu: int
    workdir: Path
    locustfile: Path | None = None
    user_class: str = DEFAULT_USER_CLASS


def round_ratio(samples: list[Sample], round_: int) -> float:
    """plugin / plain CPU per request in one round."""
    side = {s.side: s for s in samples if s.round == round_}
    return side["plugin"].us_per_request / side["plain"].us_per_request


def run(settings: Settings, progress: Callable[[Sample], None]) -> list[Sample]:
    sides = {
        plugin: WindowedLocust(settings.locustfile, settings.user_class, plugin=plugin)
        for plugin in (False, True)
    }
    samples: list[Sample] = []
    target = registry.get(TARGET)
    port = processes.free_port()
    with process.started(target, port, 1, cpus=[settings.target_cpu]) as server:
        spec = LoadSpec(url=server.url, keepalive=True, connections=settings.users,
                        duration_s=settings.duration_s, cpus=(settings.generator_cpu,))  # fmt: skip
        for round_ in range(settings.rounds):
            order = (False, True) if round_ % 2 == 0 else (True, False)  # ABBA
            for plugin in order:
                side = sides[plugin]
                workdir = settings.workdir / f"{round_}-{side.name}"
                try:
                    result = run_local(side, spec, workdir)
                except RuntimeError as exc:
                    raise UsageError(f"{side.name} run {round_ + 1}: {exc}") from None
                sample = Sample(round_, side.name, result.requests, result.failures,
                                result.window_cpu_seconds or 0.0, result.duration_s)  # fmt: skip
                samples.append(sample)
                progress(sample)
    return samples


@dataclass
class Summary:
    plain_us_per_request: float
    plugin_us_per_request: float
    plain_rps: float
    plugin_rps: float
    #: each round's plugin / plain CPU per request, and their median
    ratios: list[float]
    median_ratio: float
    failures: int

    @property
    def goal_met(self) -> bool:
        return self.median_ratio <= GOAL_RATIO


def summarise(samples: list[Sample]) -> Summary:
    rounds = sorted({s.round for s in samples})
    ratios = [round_ratio(samples, r) for r in rounds]

    def median(side: str, figure: Callable[[Sample], float]) -> float:
        return statistics.median(figure(s) for s in samples if s.side == side)

    return Summary(
        plain_us_per_request=median("plain", lambda s: s.us_per_request),
        plugin_us_per_request=median("plugin", lambda s: s.us_per_request),
        plain_rps=median("plain", lambda s: s.rps),
        plugin_rps=median("plugin", lambda s: s.rps),
        ratios=ratios,
        median_ratio=statistics.median(ratios),
        failures=sum(s.failures for s in samples),
    )


def conditions() -> str:
    load1, load5, _ = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {load1:.2f} (1 min) {load5:.2f} (5 min)"


def write_json(path: Path, samples: list[Sample], summary: Summary, meta: dict) -> None:
    data = {
        **meta,
        "samples": [{**asdict(s), "us_per_request": s.us_per_request} for s in samples],
        "summary": {**asdict(summary), "goal_ratio": GOAL_RATIO, "goal_met": summary.goal_met},
    }
    atomic.write_text(path, json.dumps(data, indent=2) + "\n")
