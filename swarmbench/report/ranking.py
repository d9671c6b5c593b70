"""Rankings with their confidence: medians, intervals, "indistinguishable in this run" groups.

A cell's requests/s is the median of its rounds with an order-statistic interval
(swarmbench.util.stats). Systems whose intervals overlap share a rank ("2=": indistinguishable
in this run). A generator-bound figure is a lower bound: the server may be faster, so its
interval is open upwards and it only ranks above what its lower end clears.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from swarmbench.results import CellResult
from swarmbench.util.stats import Estimate, rank_groups


def estimate(cell: CellResult, figure: str = "rps") -> Estimate | None:
    """The cell's median and interval of `figure`; a lower bound is open upwards."""
    if figure == "latency_p99_us":
        value = cell.latency_us.get("p99")
    else:
        value = getattr(cell, figure, None)
    if value is None:
        return None
    found = cell.interval(figure)
    low, high = found if found else (value, value)
    n = len(cell.rounds) or 1
    coverage = cell.interval_coverage if cell.interval_coverage is not None else 1.0
    if figure == "rps" and cell.generator_bound:
        high = math.inf
    return Estimate(float(value), float(low), float(high), n, coverage)


@dataclass
class Ranked:
    cell: CellResult
    estimate: Estimate
    #: 1-based rank of the system's group; equal for indistinguishable systems
    rank: int
    #: others share the rank
    tied: bool

    @property
    def label(self) -> str:
        return f"{self.rank}=" if self.tied else str(self.rank)


def rank(cells: list[CellResult]) -> list[Ranked]:
    """Usable cells ranked by requests/s, indistinguishable ones sharing a rank."""
    found = [(c, e) for c in cells if (e := estimate(c)) is not None]
    groups = rank_groups(found, lambda item: item[1])
    out: list[Ranked] = []
    position = 1
    for group in groups:
        for cell, est in group:
            out.append(Ranked(cell, est, position, len(group) > 1))
        position += len(group)
    return out


def interval_text(est: Estimate | None, digits_fmt: str = "{:,.0f}") -> str:
    """'38,100 to 44,900' ('≥ 38,100' for a lower bound; 'one round' without an interval)."""
    if est is None:
        return "n/a"
    if math.isinf(est.high):
        return f"≥ {digits_fmt.format(est.low)} (lower bound)"
    if est.n < 2:
        return "one round"
    return f"{digits_fmt.format(est.low)} to {digits_fmt.format(est.high)}"


def coverage_note(cells: list[CellResult]) -> str:
    """What the intervals mean in this run, once per table."""
    rounds = sorted({len(c.rounds) for c in cells if c.rounds})
    coverage = sorted({round(c.interval_coverage * 100) for c in cells if c.interval_coverage})
    if not rounds:
        return "Each figure is a single measurement: no interval."
    n = "/".join(str(r) for r in rounds)
    cov = "/".join(f"{c}%" for c in coverage) or "n/a"
    return (
        f"Figures are medians of {n} interleaved rounds; the interval spans the rounds' order "
        f"statistics and holds the true median with {cov} confidence. Systems whose intervals "
        "overlap share a rank (e.g. 2=): indistinguishable in this run."
    )


def compare(first: Estimate, second: Estimate) -> int:
    """1: first distinguishably higher; -1: second; 0: indistinguishable in this run."""
    if first.low > second.high:
        return 1
    if second.low > first.high:
        return -1
    return 0
