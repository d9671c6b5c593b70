"""Results of a bench run on disk: results/RUN/run.json, cells/*.json, summary.csv.

This module is the contract between `swarmbench bench` (which writes) and `swarmbench report`
(which reads); docs/architecture.md describes the format. Every file is written atomically
(temp file, fsync, rename), so a crash or Ctrl-C never leaves half a file, and a rerun with the
same folder skips the cells already finished (failed ones are run again).

The format is versioned: run.json and every cell carry `schema_version` (SCHEMA_VERSION when
written) and `swarmbench_version`. Reading checks each field's type against the dataclasses
below (swarmbench.util.typed), so a foreign, corrupt or newer folder is one line naming the file
and what is wrong, never a traceback. Extending the format: add a field with a default (older
files still read; older readers ignore it); change a field's type or meaning: bump
SCHEMA_VERSION (older readers then refuse the folder by name).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from swarmbench import __version__
from swarmbench.errors import UsageError
from swarmbench.util import atomic, typed

#: The results format written by this swarmbench (see the module docstring). 2: a cell's figures
#: are the medians of its `rounds`, and same-traffic cells (`load_percent` > 0) sit beside the
#: flat-out cells of the same system, mode and generator, which a format-1 reader would confuse.
SCHEMA_VERSION = 2


#: The same-traffic phase's reference capacity per keep-alive mode, beside the cells.
SAME_TRAFFIC_FILE = "same-traffic.json"


class ResultsError(UsageError):
    """A results file that cannot be read: the message names the file and what is wrong."""


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
    "target_figures_missing",
    # Added with rounds and the same-traffic phase (new columns only, appended):
    "load_percent",
    "offered_rps",
    "rounds",
    "rps_low",
    "rps_high",
    "target_cpu_percent_low",
    "target_cpu_percent_high",
    "cpu_us_per_request_low",
    "cpu_us_per_request_high",
    "latency_p99_low_us",
    "latency_p99_high_us",
    "interval_coverage",
    "flags",
)
#: Figures that get a median and an interval over a cell's rounds (CellResult.intervals keys).
INTERVAL_FIGURES = ("rps", "target_cpu_percent", "cpu_us_per_request", "latency_p99_us")
#: summary.csv's target columns: "unknown" (not empty, never 0) when the cell ran but they could
#: not be read; target_figures_missing says why
TARGET_COLUMNS = ("target_cpu_percent", "cpu_us_per_request", "rss_peak_bytes")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class CellKey:
    system: str
    keepalive: bool
    generator: str
    #: 0: flat out (the saturation phase); else the same-traffic phase's offered load, in
    #: percent of the run's reference capacity for the mode
    load: int = 0

    @property
    def mode(self) -> str:
        return "on" if self.keepalive else "off"

    @property
    def id(self) -> str:
        base = f"{self.system}.keepalive-{self.mode}.{self.generator}"
        return f"{base}.same-traffic-{self.load}pct" if self.load else base


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
        return typed.load(cls, data, "prometheus")


@dataclass
class CellResult:
    """One cell's measurement. Figures a cell could not measure are None, never 0 or NaN."""

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
    #: a virtual machine's steal during the measurement (100 = one core), its busiest round's
    steal_cpu_percent: float | None = None
    #: why the target's CPU, RSS or threads are null although the cell ran (say, a cluster's
    #: Prometheus did not answer): unknown, never 0
    target_figures_missing: str | None = None
    #: figures read back from Prometheus, or why they are missing
    prometheus: PrometheusFigures = field(default_factory=PrometheusFigures)
    verification: list[dict[str, Any]] = field(default_factory=list)
    #: Locust: latency per request name {method, name, requests, failures, rps, latency_us}
    by_name: list[dict[str, Any]] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0
    ended_at: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)
    #: 0 for a saturation cell; the same-traffic step (percent) otherwise, see CellKey.load
    load_percent: int = 0
    #: the fixed total rate a same-traffic cell offered (None: flat out)
    offered_rps: float | None = None
    #: one dict per measured round (RoundFigures.as_dict); the figures above are their medians
    rounds: list[dict[str, Any]] = field(default_factory=list)
    rounds_planned: int = 1
    #: figure -> [low, high] over the rounds (INTERVAL_FIGURES), and the intervals' coverage
    intervals: dict[str, list[float]] = field(default_factory=dict)
    interval_coverage: float | None = None
    #: why this cell's figure deserves less trust, each said next to it in the report
    flags: list[str] = field(default_factory=list)
    #: why the figure is a lower bound when generator_bound is set
    bound_reason: str | None = None
    schema_version: int = SCHEMA_VERSION
    swarmbench_version: str = __version__

    @property
    def key(self) -> CellKey:
        return CellKey(self.system, self.keepalive == "on", self.generator, self.load_percent)

    @property
    def failed(self) -> bool:
        return self.verdict.startswith(("failed", "skipped"))

    @property
    def complete(self) -> bool:
        """Every planned round measured, or the cell ended early with a verdict."""
        return self.failed or len(self.rounds) >= self.rounds_planned

    def interval(self, figure: str) -> tuple[float, float] | None:
        found = self.intervals.get(figure)
        return (float(found[0]), float(found[1])) if found and len(found) == 2 else None

    def summary_row(self) -> dict[str, Any]:
        row = {name: getattr(self, name, None) for name in SUMMARY_COLUMNS}
        row["latency_mean_us"] = self.latency_us.get("mean")
        row["latency_p50_us"] = self.latency_us.get("p50")
        row["latency_p99_us"] = self.latency_us.get("p99")
        if self.target_figures_missing and not self.failed:
            row.update({k: UNKNOWN for k in TARGET_COLUMNS if row[k] is None})
        row["rounds"] = len(self.rounds)
        for figure, (low_col, high_col) in _INTERVAL_COLUMNS.items():
            found = self.interval(figure)
            row[low_col], row[high_col] = found if found else (None, None)
        row["flags"] = "; ".join(self.flags)
        return row

    def as_dict(self) -> dict[str, Any]:
        """The cell file's JSON object (a non-finite figure is written as null)."""
        data = asdict(self)
        data["prometheus"] = self.prometheus.as_dict()
        return dict(typed.json_ready(data))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CellResult:
        """A cell from its JSON object, every field's type checked (typed.TypeMismatch)."""
        return typed.load(cls, data)


@dataclass
class ProfileRecord:
    """run.json parameters.profile: bench.matrix.Profile as written."""

    name: str = "?"
    connections: int | None = None
    duration_s: float | None = None
    warmup_s: float | None = None
    wrk_threads: int | None = None
    ab_connections: int | None = None
    ab_requests: int | None = None
    description: str = ""
    rounds: int = 1
    same_traffic_steps: list[int] = field(default_factory=list)
    same_traffic_rounds: int = 0


@dataclass
class RunParameters:
    """run.json parameters: bench.matrix.BenchConfig.as_dict(). A new option adds a field here
    with a default (and resume compares it with the rerun's, see bench.resume)."""

    profile: ProfileRecord = field(default_factory=ProfileRecord)
    systems: list[str] = field(default_factory=list)
    keepalive: list[bool] = field(default_factory=list)
    generators: list[str] = field(default_factory=list)
    rate: float | None = None
    workers: int = 1
    target_threads: int | None = None
    target_host: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class MachineRecord:
    hostname: str = ""
    cpu_model: str = ""
    logical_cpus: int | None = None
    memory_bytes: int | None = None
    kernel: str = ""
    os: str = ""
    python: str = ""


@dataclass
class VersionsRecord:
    swarmbench: str = ""
    python_packages: dict[str, str | None] = field(default_factory=dict)
    tools: dict[str, str | None] = field(default_factory=dict)
    systems: dict[str, str] = field(default_factory=dict)


@dataclass
class RunRecord:
    """run.json: what the run was asked to do and where it ran. `raw` holds the whole object
    (machine, versions, placement... as written) for the report; the fields here are checked."""

    run_id: str
    schema_version: int = SCHEMA_VERSION
    swarmbench_version: str = ""
    created_at: str = ""
    parameters: RunParameters = field(default_factory=RunParameters)
    placement: dict[str, list[int]] | None = None
    machine: MachineRecord = field(default_factory=MachineRecord)
    versions: VersionsRecord = field(default_factory=VersionsRecord)
    backend: str = "local"
    #: each resume that accepted other parameters or another version (--resume-anyway)
    resumed: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def written_by(self) -> str:
        """The swarmbench version that started the run (older files: versions.swarmbench)."""
        return self.swarmbench_version or self.versions.swarmbench or "unknown"


def new_run_record(info: dict[str, Any]) -> dict[str, Any]:
    """run.json's object for a new run: `info` with the format's version stamps."""
    return {**info, "schema_version": SCHEMA_VERSION, "swarmbench_version": __version__}


def _read_object(path: Path) -> dict[str, Any]:
    """A results file's JSON object, its format version checked; ResultsError otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ResultsError(f"cannot read {path}: {reason}") from None
    try:
        data = typed.parse_json(text)
    except ValueError as exc:
        raise ResultsError(
            f"{path} is not JSON ({_first_line(exc)}): corrupt or cut short"
        ) from None
    if not isinstance(data, dict) or not ("schema_version" in data or "run_id" in data
                                          or "system" in data):  # fmt: skip
        raise ResultsError(f"{path} is not a swarmbench results file")
    version = data.get("schema_version", SCHEMA_VERSION)  # files from before versioning: 1
    if isinstance(version, bool) or not isinstance(version, int):
        raise ResultsError(f"{path}: schema_version {version!r} is not a whole number")
    if version > SCHEMA_VERSION:
        by = data.get("swarmbench_version", "a newer swarmbench")
        raise ResultsError(
            f"{path} is in results format {version} (written by swarmbench {by}); this "
            f"swarmbench {__version__} reads format {SCHEMA_VERSION}: upgrade swarmbench"
        )
    return data


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__


def read_run_file(path: Path) -> RunRecord:
    data = _read_object(path)
    if "run_id" not in data:
        raise ResultsError(f"{path} is not a swarmbench results file (no run_id)")
    try:
        record = typed.load(RunRecord, {k: v for k, v in data.items() if k != "raw"})
    except typed.TypeMismatch as exc:
        raise ResultsError(f"{path}: {exc}") from None
    record.raw = data
    return record


def read_cell_file(path: Path) -> CellResult:
    data = _read_object(path)
    try:
        return CellResult.from_dict(data)
    except typed.TypeMismatch as exc:
        raise ResultsError(f"{path}: {exc}") from None


_INTERVAL_COLUMNS = {
    "rps": ("rps_low", "rps_high"),
    "target_cpu_percent": ("target_cpu_percent_low", "target_cpu_percent_high"),
    "cpu_us_per_request": ("cpu_us_per_request_low", "cpu_us_per_request_high"),
    "latency_p99_us": ("latency_p99_low_us", "latency_p99_high_us"),
}


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

    def read_run(self) -> RunRecord:
        if not self.run_file.exists():
            raise ResultsError(f"{self.path} holds no run.json: not a swarmbench results folder")
        return read_run_file(self.run_file)

    def write_cell(self, result: CellResult) -> None:
        atomic.write_json(self.cell_file(result.key), result.as_dict())

    def finished(self, key: CellKey) -> CellResult | None:
        """The cell as far as it got (check `complete`), or None when it never started."""
        path = self.cell_file(key)
        if not path.exists():
            return None
        return read_cell_file(path)

    def cells(self) -> list[CellResult]:
        if not self.cells_dir.exists():
            return []
        return [read_cell_file(p) for p in sorted(self.cells_dir.glob("*.json"))]

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
