"""The same-traffic result: every system at the same fixed rates, its CPU, memory and p99.

The article's production claim ("Node at 80-95% CPU where Rust ran at ~30%, same traffic") is
about CPU at the same offered load, so this is the table that answers it. CPU % is of the
cores the target was given here (node-std uses one core whatever it is given).
"""

from __future__ import annotations

from dataclasses import dataclass

from swarmbench.report.model import Report
from swarmbench.report.ranking import estimate
from swarmbench.results import CellResult
from swarmbench.util.stats import Estimate


@dataclass
class Step:
    mode: str
    load_percent: int
    offered_rps: float | None
    cells: list[CellResult]


def steps(report: Report) -> list[Step]:
    """The phase's steps in order: mode, then load; each with its cells in system order."""
    order = {s: i for i, s in enumerate(report.systems)}
    keys = sorted(
        {(c.keepalive, c.load_percent) for c in report.same_traffic},
        key=lambda k: (0 if k[0] == "on" else 1, k[1]),
    )
    out = []
    for mode, load in keys:
        cells = [c for c in report.same_traffic if (c.keepalive, c.load_percent) == (mode, load)]
        cells.sort(key=lambda c: order.get(c.system, 99))
        offered = next((c.offered_rps for c in cells if c.offered_rps), None)
        out.append(Step(mode, load, offered, cells))
    return out


def cpu_share(report: Report, cell: CellResult) -> Estimate | None:
    """CPU % of the cores the target was given (100 = all of them busy)."""
    est = estimate(cell, "target_cpu_percent")
    cores = report.target_cores() or 1
    if est is None or cell.failed:
        return None
    return Estimate(est.median / cores, est.low / cores, est.high / cores, est.n, est.coverage)


def reference_text(report: Report, mode: str) -> str:
    ref = report.references.get(mode)
    if not ref:
        return "reference not recorded"
    return f"{float(ref['rps']):,.0f} req/s = {ref.get('basis', '')}"


def kept_pace(cell: CellResult) -> bool:
    """The generator delivered the offered rate (else the row is not the same traffic)."""
    return not cell.failed and not cell.generator_bound
