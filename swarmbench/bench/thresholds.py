"""Pass/fail limits on a bench's cells, for CI: `--threshold [SYSTEM:]METRIC<OP>VALUE`.

A threshold holds for every flat-out cell of the run, or for one system's cells. A cell misses it
when its figure is on the wrong side of the limit, or when it has no such figure (a failed cell,
a generator that does not report it): a CI job never passes on a figure nobody measured. Skipped
cells (the matrix never meant to run them) are left out, and so are the same-traffic phase's
cells, whose rate is the run's choice rather than the server's limit.
"""

from __future__ import annotations

import argparse
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from swarmbench.results import CellResult
from swarmbench.util import options


def _failure_ratio(cell: CellResult) -> float | None:
    total = cell.requests + cell.failures
    return cell.failures / total if total else None


#: METRIC -> (what it is, its unit, how a cell gives it)
METRICS: dict[str, tuple[str, str, Callable[[CellResult], float | None]]] = {
    "p99_us": ("p99 latency", "µs", lambda c: c.latency_us.get("p99")),
    "failure_ratio": ("failed share of requests", "", _failure_ratio),
    "rps": ("requests/s", "req/s", lambda c: c.rps),
    "cpu_us_per_request": ("target CPU per request", "µs", lambda c: c.cpu_us_per_request),
}
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_SPEC = re.compile(
    r"^(?:(?P<system>[A-Za-z0-9_.-]+):)?(?P<metric>\w+)(?P<op><=|>=|<|>)(?P<value>.+)$"
)


#: A limit is a finite figure of the kind the metrics are: none is negative or this large.
_LIMIT = options.real(
    options.Limit(1e12, "no figure a cell measures comes near a trillion"), low=0.0, open_low=False
)


@dataclass(frozen=True)
class Threshold:
    metric: str
    op: str
    limit: float
    #: None: every system
    system: str | None = None

    @property
    def text(self) -> str:
        where = f"{self.system}:" if self.system else ""
        return f"{where}{self.metric}{self.op}{self.limit:g}"

    def applies(self, cell: CellResult) -> bool:
        return self.system is None or cell.system == self.system


def parse(text: str) -> Threshold:
    """`p99_us<2000`, `my-app:rps>=5000`, `failure_ratio<0.01` (argparse type)."""
    match = _SPEC.match(text.replace(" ", ""))
    if not match:
        raise argparse.ArgumentTypeError(
            f"bad threshold {text!r}: use [SYSTEM:]METRIC<VALUE, e.g. p99_us<2000 or "
            f"my-app:rps>5000; metrics: {', '.join(METRICS)}"
        )
    metric = match["metric"]
    if metric not in METRICS:
        raise argparse.ArgumentTypeError(
            f"threshold {text!r}: unknown metric {metric!r}; known: {', '.join(METRICS)}"
        )
    try:
        limit = float(_LIMIT(match["value"]))
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"threshold {text!r}: {exc}") from None
    return Threshold(metric, match["op"], limit, match["system"])


@dataclass(frozen=True)
class Miss:
    threshold: Threshold
    cell: CellResult
    value: float | None

    @property
    def text(self) -> str:
        cell, t = self.cell, self.threshold
        what, unit, _ = METRICS[t.metric]
        name = f"{cell.system}, keep-alive {cell.keepalive}, {cell.generator}"
        if self.value is None:
            state, why = "n/a", cell.verdict if cell.failed else "not measured"
            if not cell.failed and t.metric == "cpu_us_per_request" and cell.target_figures_missing:
                state, why = "unknown", cell.target_figures_missing
            return f"{name}: {t.metric} ({what}) {state} ({why}); threshold {t.text}"
        by = abs(self.value - t.limit)
        share = f", {100 * by / abs(t.limit):.1f}%" if t.limit else ""
        suffix = f" {unit}" if unit else ""
        return (
            f"{name}: {t.metric} {_fmt(self.value)}{suffix}, limit {t.op}{_fmt(t.limit)}"
            f" (missed by {_fmt(by)}{suffix}{share})"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold.text,
            "cell": self.cell.key.id,
            "value": self.value,
            "message": self.text,
        }


def _fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def check(thresholds: list[Threshold], cells: list[CellResult]) -> list[Miss]:
    """Every (threshold, cell) pair that missed, in threshold order, then cell order."""
    misses = []
    for threshold in thresholds:
        _, _, read = METRICS[threshold.metric]
        for cell in cells:
            # A skipped cell was never meant to run (e.g. ab's count under a duration).
            if (
                cell.load_percent
                or not threshold.applies(cell)
                or cell.verdict.startswith("skipped")
            ):
                continue
            value = None if cell.failed else read(cell)
            if value is None or not _OPS[threshold.op](value, threshold.limit):
                misses.append(Miss(threshold, cell, value))
    return misses


def unknown_systems(thresholds: list[Threshold], systems: tuple[str, ...]) -> list[str]:
    return sorted({t.system for t in thresholds if t.system and t.system not in systems})
