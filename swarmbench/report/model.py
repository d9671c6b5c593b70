"""What the report says, computed once from a results folder; report_md and report_html render it.

Everything here is measured or published data and the sentences drawn from it; nothing here
knows about Markdown or HTML. A figure a cell could not measure stays None and is rendered as
"n/a" with its reason (a target figure that could not be read: "unknown"), never as 0.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmbench.report import reference
from swarmbench.report.ranking import rank
from swarmbench.report.reference import Published
from swarmbench.results import SAME_TRAFFIC_FILE, CellResult, ResultsError, RunDir
from swarmbench.targets import registry
from swarmbench.util import typed

MODES = ("on", "off")
MODE_TITLE = {"on": "keep-alive on", "off": "keep-alive off"}
GENERATOR_ORDER = ("locust", "wrk", "ab")
RESOLUTION_NOTE = {
    "locust": "Locust: HDR histogram, 1 µs resolution",
    "wrk": "wrk: 10 µs resolution, no p99.9",
    "ab": "ab: whole milliseconds (multiples of 1000 µs), no p99.9 or mean below 1 ms",
}
NA = "n/a"


@dataclass
class Row:
    cell: CellResult
    #: "1", "2=" (indistinguishable from another system in this run), or None (no figure)
    rank: str | None

    @property
    def prometheus_cpu_us(self) -> float | None:
        return self.cell.prometheus.cpu_us_per_request


@dataclass
class Table:
    """The article's table for one generator and mode, ranked by requests/s."""

    generator: str
    mode: str
    rows: list[Row]
    conditions: str
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.generator}, {MODE_TITLE[self.mode]}"


@dataclass
class Comparison:
    """Published and measured requests/s for one generator and mode, normalised."""

    generator: str
    mode: str
    systems: list[str]
    published: dict[str, float | None]
    measured: dict[str, float | None]
    published_base: str | None
    measured_base: str | None
    published_norm: dict[str, float | None]
    measured_norm: dict[str, float | None]
    generator_bound: set[str]
    conditions: str
    #: why a measured figure is n/a: the cell's verdict, or "not measured"
    missing: dict[str, str] = field(default_factory=dict)


@dataclass
class CpuFinding:
    generator: str
    mode: str
    node_us: float
    rust_us: dict[str, float]
    conditions: str

    @property
    def ratios(self) -> dict[str, float]:
        return {k: self.node_us / v for k, v in self.rust_us.items() if v > 0}

    @property
    def median_ratio(self) -> float:
        return self.node_us / statistics.median(self.rust_us.values())


@dataclass
class Report:
    run: dict[str, Any]
    #: the flat-out (saturation) cells: the article's tables
    cells: list[CellResult]
    published: Published
    systems: list[str]
    targets: dict[str, registry.Target]
    #: the same-traffic phase's cells (each at a fixed offered rate)
    same_traffic: list[CellResult] = field(default_factory=list)
    #: the same-traffic phase's reference per mode (same-traffic.json), if it ran
    references: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.run.get("run_id", "unknown"))

    @property
    def rate(self) -> float | None:
        value = self.run.get("parameters", {}).get("rate")
        return float(value) if value else None

    def is_variant(self, system: str) -> bool:
        target = self.targets.get(system)
        return target is not None and target.variant_of is not None

    def target_cores(self) -> int | None:
        """Cores the target was given on this machine (None on a cluster)."""
        placement = self.run.get("placement") or {}
        cores = placement.get("target") or []
        return len(cores) or None

    def language(self, system: str) -> str:
        recorded = self.run.get("systems", {}).get(system) or {}
        if recorded.get("language"):  # run.json: a user's system (--targets) as well
            return str(recorded["language"])
        if system in self.targets:
            return self.targets[system].language
        return str(self.published.systems.get(system, {}).get("language", "unknown"))

    def generators(self) -> list[str]:
        present = {c.generator for c in self.cells}
        return [g for g in GENERATOR_ORDER if g in present] + sorted(present - set(GENERATOR_ORDER))

    def modes(self) -> list[str]:
        present = {c.keepalive for c in self.cells}
        return [m for m in MODES if m in present]

    def cell_map(self) -> dict[tuple[str, str, str], CellResult]:
        return {(c.system, c.keepalive, c.generator): c for c in self.cells}


def _same_traffic_references(path: Path) -> dict[str, dict[str, Any]]:
    """same-traffic.json's reference per keep-alive mode ({} when the phase did not run)."""
    if not path.exists():
        return {}
    try:
        data = typed.parse_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path}: cannot read it ({type(exc).__name__}): corrupt?") from None
    refs = data.get("references") if isinstance(data, dict) else None
    if not isinstance(refs, dict) or not all(
        isinstance(r, dict) and isinstance(r.get("rps"), int | float) for r in refs.values()
    ):
        raise ResultsError(f"{path}: `references` is not an object of {{mode: {{rps, ...}}}}")
    return refs


def load(run_dir: RunDir) -> Report:
    run = run_dir.read_run().raw
    every = run_dir.cells()
    cells = [c for c in every if not c.load_percent]
    same = [c for c in every if c.load_percent]
    refs = _same_traffic_references(run_dir.path / SAME_TRAFFIC_FILE)
    try:
        targets = registry.load()
    except (OSError, KeyError):  # a results folder read away from its checkout
        targets = {}
    order = list(run.get("parameters", {}).get("systems") or []) or list(targets)
    seen = {c.system for c in every}
    systems = [s for s in order if s in seen] + sorted(seen - set(order))
    return Report(run, cells, reference.load(), systems, targets, same, refs)


# --- formatting shared by Markdown and HTML -------------------------------------------------


def fmt_num(value: float | None, digits: int = 3) -> str:
    """Thousands separators for big figures, a few significant digits for small ones."""
    if value is None:
        return NA
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def fmt_percentile(value: float | None, resolution_us: float | None) -> str:
    """A percentile under the generator's resolution is "< resolution", not 0 (ab's p50 of
    0 ms means under one millisecond)."""
    if value is not None and resolution_us and value < resolution_us:
        return f"< {fmt_num(resolution_us)}"
    return fmt_num(value)


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return NA
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def fmt_ratio(value: float | None) -> str:
    return NA if value is None else f"{value:.2f}"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return NA
    return f"{value:g} s"


def conditions_text(cell: CellResult) -> str:
    """Every figure's conditions: generator, connections, duration or count, pinning."""
    cond = cell.conditions or {}
    parts = [cell.generator]
    if cond.get("user_class"):
        parts.append(f"user class {cond['user_class']} of {cond.get('locustfile')}")
    if cond.get("connections") is not None:
        parts.append(f"{cond['connections']} connections")
    if cond.get("requests"):
        parts.append(f"{cond['requests']:,} requests")
    elif cond.get("duration_s") is not None:
        parts.append(f"{cond['duration_s']:g} s measured")
    if cond.get("rate"):
        parts.append(f"fixed rate {cond['rate']:g} req/s")
    if cell.generator == "wrk" and cond.get("wrk_threads"):
        parts.append(_count(cond["wrk_threads"], "wrk thread"))
    if cell.generator == "locust" and cond.get("workers"):
        parts.append(_count(cond["workers"], "Locust worker"))
    if cond.get("warmup_s") is not None:
        parts.append(f"{cond['warmup_s']:g} s warm-up")
    if cond.get("target_threads") is not None:
        parts.append(_count(cond["target_threads"], "server thread"))
    parts.append(placement_text(cond.get("placement")))
    return ", ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def placement_text(placement: dict[str, list[int]] | None) -> str:
    """One machine's CPU split; None: a cluster run, where the inventory places each role."""
    if placement is None:
        return "target, master and workers on the inventory's hosts"
    target, gen = placement.get("target") or [], placement.get("generator") or []
    if not target and not gen:
        return "placement not recorded"
    if set(target) & set(gen):
        return f"target and generator share CPU {_cpus(target)}"
    return f"target pinned to CPU {_cpus(target)}, generator to CPU {_cpus(gen)}"


def _cpus(cpus: list[int]) -> str:
    return ",".join(str(c) for c in cpus) or "?"


# --- the article's tables ---------------------------------------------------------------


def usable(cell: CellResult) -> bool:
    """A cell whose requests/s is a figure (generator-bound ones are, as lower bounds)."""
    return not cell.failed and cell.rps is not None


def tables(report: Report) -> list[Table]:
    out = []
    for mode in report.modes():
        for generator in report.generators():
            cells = [c for c in report.cells if c.keepalive == mode and c.generator == generator]
            if cells:
                out.append(_table(report, generator, mode, cells))
    return out


def _table(report: Report, generator: str, mode: str, cells: list[CellResult]) -> Table:
    rows = [Row(r.cell, r.label) for r in rank([c for c in cells if usable(c)])]
    order = {s: i for i, s in enumerate(report.systems)}
    rows += [
        Row(c, None) for c in sorted(cells, key=lambda c: order.get(c.system, 99)) if not usable(c)
    ]
    first = next((c for c in cells if c.conditions), cells[0])
    notes = [RESOLUTION_NOTE.get(generator, f"{generator}: resolution as reported")]
    notes += _missing_notes(rows)
    return Table(generator, mode, rows, conditions_text(first), notes)


def _missing_notes(rows: list[Row]) -> list[str]:
    """Why each n/a of a measured cell is n/a, one line per reason."""
    by_reason: dict[str, list[str]] = {}
    for row in rows:
        cell = row.cell
        if cell.failed:
            continue
        reasons = []
        missing = [k for k in ("mean", "p99") if cell.latency_us.get(k) is None]
        if missing:
            reasons.append(
                f"{' and '.join(missing)} latency n/a: {cell.generator} did not report it"
            )
        if cell.target_figures_missing:  # the cell ran, its target could not be read
            reasons.append(f"target figures unknown: {cell.target_figures_missing}")
        elif cell.cpu_us_per_request is None or cell.target_cpu_percent is None:
            why = "no requests completed" if not cell.requests else "the target was not sampled"
            reasons.append(f"target CPU n/a: {why}")
        if row.prometheus_cpu_us is None:
            reasons.append(prometheus_missing_text(cell))
        for reason in reasons:
            by_reason.setdefault(reason, []).append(cell.system)
    return [f"{', '.join(systems)}: {reason}" for reason, systems in by_reason.items()]


def prometheus_missing_text(cell: CellResult) -> str:
    reason = cell.prometheus.reason or "not recorded for this cell"
    return f"server figures from Prometheus missing: {reason}"


# --- published vs measured ---------------------------------------------------------------


def comparisons(report: Report) -> list[Comparison]:
    out = []
    cells = report.cell_map()
    for generator in report.published.generators:
        for mode in MODES:
            published = report.published.figures(generator, mode)
            systems = list(published) + [s for s in report.systems if s not in published]
            measured: dict[str, float | None] = {}
            bound: set[str] = set()
            missing: dict[str, str] = {}
            conditions = "not measured in this run"
            for system in systems:
                cell = cells.get((system, mode, generator))
                measured[system] = cell.rps if cell is not None and usable(cell) else None
                if measured[system] is None:
                    missing[system] = cell.verdict if cell is not None else "not measured"
                if cell is not None and cell.generator_bound and usable(cell):
                    bound.add(system)
                if cell is not None and cell.conditions:
                    conditions = conditions_text(cell)
            pub = {s: published.get(s) for s in systems}
            meas_base, meas_norm = reference.normalise(measured)
            # both columns on one baseline: tokio, or the fastest measured when tokio is not
            pub_base, pub_norm = reference.normalise(pub, meas_base or reference.BASELINE)
            out.append(
                Comparison(
                    generator,
                    mode,
                    systems,
                    pub,
                    measured,
                    pub_base,
                    meas_base,
                    pub_norm,
                    meas_norm,
                    bound,
                    conditions,
                    missing,
                )
            )
    return out


def baseline_note(comparison: Comparison) -> str:
    """Say what the measured column is normalised to when tokio was not measured."""
    base = comparison.measured_base
    if base is None:
        return f"{comparison.generator}, {MODE_TITLE[comparison.mode]}: not measured in this run."
    if base != reference.BASELINE:
        return (
            f"tokio was not measured with {comparison.generator}, {MODE_TITLE[comparison.mode]}: "
            f"both columns are normalised to the fastest system measured, {base} = 1.0."
        )
    return ""


# --- latency per request name (a locustfile's own requests) --------------------------------

BY_NAME_HEADER = (
    "system",
    "mode",
    "request",
    "requests",
    "failures",
    "requests/s",
    "p50 µs",
    "p99 µs",
    "p99.9 µs",
    "max µs",
)


def by_name_title(report: Report) -> str:
    params = report.run.get("parameters", {})
    user_class, locustfile = params.get("user_class"), params.get("locustfile")
    if user_class:
        return f"Latency by request name: {user_class} ({locustfile})"
    return "Latency by request name"


def by_name_rows(report: Report) -> list[list[str]]:
    """One row per request name of every Locust cell that recorded names, in system order."""
    order = {s: i for i, s in enumerate(report.systems)}
    cells = sorted(
        (c for c in report.cells if c.by_name and not c.failed),
        key=lambda c: (order.get(c.system, 99), c.keepalive),
    )
    rows = []
    for cell in cells:
        for entry in cell.by_name:
            lat = entry.get("latency_us") or {}
            rows.append(
                [
                    cell.system,
                    MODE_TITLE.get(cell.keepalive, cell.keepalive),
                    f"{entry.get('method', '')} {entry.get('name', '')}".strip(),
                    f"{int(entry.get('requests') or 0):,}",
                    f"{int(entry.get('failures') or 0):,}",
                    fmt_num(entry.get("rps")),
                    *(fmt_num(lat.get(k)) for k in ("p50", "p99", "p99.9", "max")),
                ]
            )
    return rows
