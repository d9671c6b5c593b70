"""The generator benchmark: what each load generator costs per request, side by side with wrk.

One target (rust-std) is pinned to one core, each generator in turn to another; runs are
interleaved round-robin (the machine's clock speed drifts, so only ratios taken in the same
round are comparable) and each figure is the median of the repeats. The figure of merit is
requests per generator-core-second: requests / CPU seconds the generator used, so a generator
that could not fill its core is not flattered or punished by the target's speed.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from swarmbench.errors import UsageError
from swarmbench.generators.ab import Ab
from swarmbench.generators.locust import Locust
from swarmbench.generators.runner import require_tool, run_local
from swarmbench.generators.spec import Generator, LoadSpec
from swarmbench.generators.wrk import Wrk
from swarmbench.targets import process, registry
from swarmbench.util import atomic, pinning, processes

MODES = ("keepalive", "close")
TARGET = "rust-std"
#: ab needs a request count; before wrk has run in a mode, assume this many requests/s.
AB_GUESS_RPS = 20_000
AB_MIN_REQUESTS = 1000
#: ab's count is a guess, so its run also stops after this many times --duration.
AB_TIME_LIMIT_FACTOR = 2.0

# Stock Locust users for comparison, written next to the run (they are not part of the
# product, so they do not live in locustfiles/). swarmbench's plugin counts their requests
# (events.request) and measures the CPU over the latency JSON's window.
STOCK_LOCUSTFILE = textwrap.dedent(
    """
    from locust import FastHttpUser, HttpUser, task
    from swarmbench.engine import hooks

    hooks.register()
    CLOSE = {"Connection": "close"}

    class FastKeepAlive(FastHttpUser):
        @task
        def get(self):
            self.client.get("/")

    class FastClose(FastHttpUser):
        @task
        def get(self):
            self.client.get("/", headers=CLOSE)

    class HttpKeepAlive(HttpUser):
        @task
        def get(self):
            self.client.get("/")

    class HttpClose(HttpUser):
        @task
        def get(self):
            self.client.get("/", headers=CLOSE)
    """
)


class StockLocust(Locust):
    """Locust's own FastHttpUser or HttpUser, run like swarmbench's users, with its plugin."""

    def __init__(self, name: str, client: str) -> None:
        self.name = name
        self.client = client  # the user classes' prefix in STOCK_LOCUSTFILE

    def locustfile(self, workdir: Path) -> Path:
        path = workdir / "stock_users.py"
        path.write_text(STOCK_LOCUSTFILE)
        return path

    def user_class(self, spec: LoadSpec) -> str:
        return self.client + ("KeepAlive" if spec.keepalive else "Close")

    def command(self, spec: LoadSpec, workdir: Path) -> list[str]:
        # Stock users join host and path: "http://h:p/" + "/" would be "//".
        return super().command(replace(spec, url=spec.url.rstrip("/")), workdir)


#: generator-bench's generators by the names its CLI and table use.
BY_NAME: dict[str, Generator] = {
    "wrk": Wrk(),
    "ab": Ab(),
    "swarmbench": Locust(),
    "fasthttp": StockLocust("fasthttp", "Fast"),
    "http": StockLocust("http", "Http"),
}
GENERATORS = tuple(BY_NAME)


@dataclass
class Sample:
    """One generator run."""

    generator: str
    mode: str
    requests: int
    failures: int
    duration_s: float
    cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def per_core(self) -> float:
        """Requests per generator-core-second."""
        return self.requests / self.cpu_s if self.cpu_s > 0 else 0.0


@dataclass
class Settings:
    duration_s: float
    connections: int
    generator_cpu: int
    workdir: Path


def measure(name: str, url: str, mode: str, s: Settings, *, ab_rps: float, workdir: Path) -> Sample:
    """One run of a generator pinned to the generator CPU; ab's count assumes ab_rps.

    Locust's CPU is its measured window's (its start-up costs about a second of imports),
    wrk's and ab's the whole process's (they start in microseconds).
    """
    spec = LoadSpec(
        url=url,
        keepalive=mode == "keepalive",
        connections=s.connections,
        duration_s=s.duration_s,
        cpus=(s.generator_cpu,),
    )
    if name == "ab":
        count = max(AB_MIN_REQUESTS, int(ab_rps * s.duration_s))
        spec = replace(spec, requests=count, time_limit_s=AB_TIME_LIMIT_FACTOR * s.duration_s)
    try:
        run = run_local(BY_NAME[name], spec, workdir)
    except RuntimeError as exc:
        raise UsageError(f"{name} ({mode}): {exc}") from None
    cpu_s = run.cpu_seconds if run.window_cpu_seconds is None else run.window_cpu_seconds
    return Sample(name, mode, run.requests, run.failures, run.duration_s, cpu_s)


def run_matrix(
    names: Sequence[str],
    modes: Sequence[str],
    repeats: int,
    settings: Settings,
    *,
    target_cpu: int,
    progress: Callable[[Sample], None] = lambda _s: None,
) -> list[Sample]:
    """Every (mode, generator) once per round, rounds repeated; the target is started once."""
    for name in names:
        require_tool(BY_NAME[name])
    target = registry.get(TARGET)
    samples: list[Sample] = []
    wrk_rps: dict[str, float] = {}
    with process.started(target, processes.free_port(), 1, cpus=[target_cpu]) as server:
        for round_ in range(repeats):
            for mode in modes:
                for name in names:
                    workdir = settings.workdir / f"{round_}-{mode}-{name}"
                    ab_rps = wrk_rps.get(mode, AB_GUESS_RPS)
                    sample = measure(
                        name, server.url, mode, settings, ab_rps=ab_rps, workdir=workdir
                    )
                    if name == "wrk":
                        wrk_rps[mode] = sample.rps
                    samples.append(sample)
                    progress(sample)
    return samples


@dataclass
class Summary:
    generator: str
    mode: str
    rps: float
    per_core: float
    ratio_to_wrk: float | None
    failures: int
    runs: int


def summarise(samples: Sequence[Sample]) -> list[Summary]:
    """Medians per (generator, mode) and each one's per-core ratio to wrk's median."""
    keys = list(dict.fromkeys((s.generator, s.mode) for s in samples))
    medians: dict[tuple[str, str], tuple[float, float]] = {}
    for key in keys:
        group = [s for s in samples if (s.generator, s.mode) == key]
        medians[key] = (
            statistics.median(s.rps for s in group),
            statistics.median(s.per_core for s in group),
        )
    rows = []
    for key in keys:
        group = [s for s in samples if (s.generator, s.mode) == key]
        wrk = medians.get(("wrk", key[1]))
        ratio = medians[key][1] / wrk[1] if wrk and wrk[1] else None
        failures = sum(s.failures for s in group)
        rows.append(Summary(*key, *medians[key], ratio, failures, len(group)))
    return rows


def write_json(path: Path, samples: Sequence[Sample], rows: Sequence[Summary], meta: dict) -> None:
    data = {
        **meta,
        "samples": [{**asdict(s), "rps": s.rps, "per_core": s.per_core} for s in samples],
        "summary": [asdict(r) for r in rows],
    }
    atomic.write_text(path, json.dumps(data, indent=2) + "\n")


def pick_cpus() -> tuple[int, int]:
    """(generator CPU, target CPU): the first and last this process may use."""
    placement = pinning.split(target_cpus=1)
    if placement.generator == placement.target:
        raise UsageError("generator-bench needs two CPUs: one for the target, one for generators")
    return placement.generator[0], placement.target[0]


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="swarmbench-genbench-")
