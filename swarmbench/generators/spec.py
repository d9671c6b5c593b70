"""What a generator is asked to do (LoadSpec) and what it reports back (GeneratorRun)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class LoadSpec:
    url: str
    keepalive: bool
    connections: int
    duration_s: float
    requests: int | None = None  # ab-style fixed count instead of a duration
    time_limit_s: float | None = None  # ab: a counted run also stops after this long
    rate: float | None = None  # fixed total requests/s (Locust only)
    workers: int = 1  # Locust worker processes
    threads: int = 1  # wrk threads
    cpus: tuple[int, ...] = ()
    run_id: str = ""  # Locust: --run-id, a label of swarmbench_run_info
    system: str = ""  # Locust: --system, the same
    metrics_bind: str = ""  # Locust: --metrics-bind ('' serves no metrics)


@dataclass
class GeneratorRun:
    requests: int
    failures: int
    failures_by_reason: dict[str, int]
    duration_s: float
    rps: float
    latency_us: dict[str, float | None]
    latency_resolution_us: float
    cpu_seconds: float = 0.0  # the whole process's, start-up included (set by run())
    window_cpu_seconds: float | None = None  # over the measured window, if the tool knows it
    generator_bound: bool | None = None  # None: the tool cannot tell, judge by CPU
    #: wall time of the whole generator process (or remote run), start-up included
    wall_s: float = 0.0
    #: Locust: per-worker figures, the run's HDR histogram, workers lost and the rate after
    workers: dict[str, Any] = field(default_factory=dict)
    histogram: str | None = None
    workers_lost: list[dict[str, Any]] = field(default_factory=list)
    rps_after_loss: float | None = None
    #: Locust: per request name {method, name, requests, failures, rps, latency_us}
    by_name: list[dict[str, Any]] = field(default_factory=list)
    #: what else the tool said that a cell records (ab's keep-alive count, the remote host)
    details: dict[str, Any] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)

    def recorded_details(self) -> dict[str, Any]:
        """What a cell's events keep of the run: everything but the histogram."""
        out = dict(self.details)
        if self.workers or self.histogram is not None:  # a Locust run
            out.update(
                workers=self.workers,
                workers_lost=self.workers_lost,
                rps_after_loss=self.rps_after_loss,
            )
        out["wall_s"] = self.wall_s
        return out


class Generator(Protocol):
    name: str
    tool: str

    def supports(self, spec: LoadSpec) -> str | None:
        """None if the generator can run this spec, else why not."""

    def command(self, spec: LoadSpec, workdir: Path) -> list[str]: ...

    def parse(self, stdout: str, workdir: Path) -> GeneratorRun: ...


class ClosedLoopTool:
    """wrk and ab: each connection sends its next request when the last is answered, so neither
    can hold a fixed request rate (that is Locust's --rate)."""

    name: str
    tool: str

    def supports(self, spec: LoadSpec) -> str | None:
        if spec.rate:
            return f"{self.name} cannot pace a fixed rate"
        return None


def nonzero_counts(names: tuple[str, ...], match: re.Match[str] | None) -> dict[str, int]:
    """Failure counts by reason from a regex match of the tool's error line, zeros left out."""
    if not match:
        return {}
    counts = {name: int(value) for name, value in zip(names, match.groups(), strict=True)}
    return {name: n for name, n in counts.items() if n}
