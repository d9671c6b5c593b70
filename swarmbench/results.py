"""Results of a bench run on disk: results/RUN/run.json, cells/*.json, summary.csv.

Every file is written atomically (temp file, fsync, rename), so a crash or Ctrl-C never leaves
half a file, and a rerun with the same folder skips the cells already finished.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from swarmbench.errors import UsageError
from swarmbench.util import atomic

#: summary.csv's columns: a contract with its readers (docs/architecture.md), keep them.
SUMMARY_COLUMNS = (
    "system",
    "keepalive",
    "generator",
    "requests",
    "failures",
    "rps",
    "latency_mean_us",
    "latency_p50_us",
    "latency_p99_us",
    "target_cpu_percent",
    "cpu_us_per_request",
    "rss_peak_bytes",
    "generator_bound",
    "verdict",
)


@dataclass(frozen=True)
class CellKey:
    system: str
    keepalive: bool
    generator: str

    @property
    def mode(self) -> str:
        return "on" if self.keepalive else "off"

    @property
    def id(self) -> str:
        return f"{self.system}.keepalive-{self.mode}.{self.generator}"


@dataclass
class PrometheusFigures:
    """What a cell read back from Prometheus over its measured window, or why it could not."""

    #: None until read; False with `reason` when the figures are missing
    available: bool | None = None
    reason: str | None = None
    #: the measured window, [start, end] in epoch seconds
    window: list[float] | None = None
    target_cpu_seconds: float | None = None
    cpu_us_per_request: float | None = None
    #: the run dashboard's panels over the window: title -> [{legend, values: [[t, v], ...]}]
    series: dict[str, list[dict[str, Any]]] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The cell file's `prometheus` object: only what was set."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrometheusFigures:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class CellResult:
    """One cell's measurement. Figures a cell could not measure are None, never 0."""

    system: str
    keepalive: str  # "on" | "off"
    generator: str
    #: "ok", "generator-bound", or "failed: <reason>" / "skipped: <reason>"
    verdict: str
    requests: int = 0
    failures: int = 0
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    rps: float | None = None
    #: mean, p50, p90, p99, p99.9, max in microseconds (what the generator reports)
    latency_us: dict[str, float | None] = field(default_factory=dict)
    #: the generator's latency resolution in microseconds (ab: 1000)
    latency_resolution_us: float | None = None
    target_cpu_seconds: float | None = None
    target_cpu_percent: float | None = None
    cpu_us_per_request: float | None = None
    rss_peak_bytes: int | None = None
    threads_peak: int | None = None
    generator_cpu_percent: float | None = None
    generator_bound: bool = False
    #: CPU other processes used during the measurement (100 = one core): a noisy machine
    other_cpu_percent: float | None = None
    #: figures read back from Prometheus, or why they are missing
    prometheus: PrometheusFigures = field(default_factory=PrometheusFigures)
    verification: list[dict[str, Any]] = field(default_factory=list)
    #: Locust: latency per request name {method, name, requests, failures, rps, latency_us}
    by_name: list[dict[str, Any]] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0
    ended_at: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> CellKey:
        return CellKey(self.system, self.keepalive == "on", self.generator)

    @property
    def failed(self) -> bool:
        return self.verdict.startswith(("failed", "skipped"))

    def summary_row(self) -> dict[str, Any]:
        row = {name: getattr(self, name, None) for name in SUMMARY_COLUMNS}
        row["latency_mean_us"] = self.latency_us.get("mean")
        row["latency_p50_us"] = self.latency_us.get("p50")
        row["latency_p99_us"] = self.latency_us.get("p99")
        return row

    def as_dict(self) -> dict[str, Any]:
        """The cell file's JSON object."""
        data = asdict(self)
        data["prometheus"] = self.prometheus.as_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellResult:
        known = {f for f in cls.__dataclass_fields__}
        fields = {k: v for k, v in data.items() if k in known}
        fields["prometheus"] = PrometheusFigures.from_dict(fields.get("prometheus") or {})
        return cls(**fields)


class RunDir:
    """One run's folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cells_dir = path / "cells"

    def ensure_writable(self) -> None:
        """Fail before any work if the folder cannot be written."""
        atomic.ensure_writable(self.cells_dir, "results")

    @property
    def run_file(self) -> Path:
        return self.path / "run.json"

    def cell_file(self, key: CellKey) -> Path:
        return self.cells_dir / f"{key.id}.json"

    def write_run(self, info: dict[str, Any]) -> None:
        atomic.write_json(self.run_file, info)

    def read_run(self) -> dict[str, Any]:
        if not self.run_file.exists():
            raise UsageError(f"{self.path} holds no run.json: not a swarmbench results folder")
        return json.loads(self.run_file.read_text())

    def write_cell(self, result: CellResult) -> None:
        atomic.write_json(self.cell_file(result.key), result.as_dict())

    def finished(self, key: CellKey) -> CellResult | None:
        path = self.cell_file(key)
        if not path.exists():
            return None
        return CellResult.from_dict(json.loads(path.read_text()))

    def cells(self) -> list[CellResult]:
        if not self.cells_dir.exists():
            return []
        files = sorted(self.cells_dir.glob("*.json"))
        return [CellResult.from_dict(json.loads(p.read_text())) for p in files]

    def write_summary(self, results: list[CellResult]) -> None:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for result in results:
            writer.writerow(_csv_row(result.summary_row()))
        atomic.write_text(self.path / "summary.csv", buf.getvalue())


def _csv_row(row: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key, value in row.items():
        if value is None:
            out[key] = ""
        elif isinstance(value, float):
            out[key] = f"{value:.1f}" if abs(value) >= 10 else f"{value:.3g}"
        else:
            out[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return out
