"""Reading a round's window back from Prometheus once it has been scraped past its end.

Prometheus scrapes every second, so a window's last sample lands up to a second after the load
stops. Rather than wait after every round, the read-back is queued and done once the window is
that old, usually while the next round (another system, whose counters do not move this one's)
is being set up. The figures are the target's CPU only: the generator's request count is exact.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from swarmbench.bench.backend import Backend
from swarmbench.results import CellResult
from swarmbench.telemetry import dashboards
from swarmbench.telemetry.metrics import SCRAPE_SETTLE_S
from swarmbench.telemetry.prometheus import PrometheusAPI, PrometheusError
from swarmbench.telemetry.queries import window_cost

log = logging.getLogger(__name__)

#: Seconds of context either side of a cell's window in its stored time series.
SERIES_MARGIN_S = 3.0
MAX_TRIES = 3
RETRY_AFTER_S = 2.0


@dataclass
class Pending:
    cell: CellResult
    round_index: int
    window: tuple[float, float]
    #: the cell's last round: also read the dashboard panels around it for the report
    last: bool
    #: reads tried so far (a busy Prometheus can miss one; the read is tried again)
    tries: int = 0


@dataclass
class Readback:
    backend: Backend
    run_id: str
    pending: list[Pending] = field(default_factory=list)

    def queue(self, cell: CellResult, round_index: int, window: tuple[float, float]) -> None:
        last = round_index + 1 >= cell.rounds_planned
        self.pending.append(Pending(cell, round_index, window, last))

    def ready(self, wait: bool = False) -> list[CellResult]:
        """Read every window old enough (all of them with `wait`); returns the cells changed."""
        if wait and self.pending:
            newest = max(p.window[1] for p in self.pending)
            time.sleep(max(0.0, newest + SCRAPE_SETTLE_S - time.time()))
        now = time.time()
        done = [p for p in self.pending if p.window[1] + SCRAPE_SETTLE_S <= now]
        self.pending = [p for p in self.pending if p not in done]
        changed: list[CellResult] = []
        for item in done:
            item.tries += 1
            if not self._read(item) and item.tries < MAX_TRIES:
                self.pending.append(item)
            if item.cell not in changed:
                changed.append(item.cell)
        if wait and self.pending:
            time.sleep(RETRY_AFTER_S)
            changed += [c for c in self.ready(wait=True) if c not in changed]
        return changed

    def _read(self, item: Pending) -> bool:
        """Read one window; False when it should be tried again."""
        cell = item.cell
        figures = cell.prometheus
        prom = self.backend.prometheus
        down = self.backend.prometheus_down()
        if prom is None or down is not None:
            figures.available, figures.reason = False, down or "no Prometheus"
            return True
        start, end = item.window
        try:
            cost = window_cost(prom, cell.system, start, end + SCRAPE_SETTLE_S, with_requests=False)
        except (PrometheusError, OSError) as exc:
            figures.available, figures.reason = False, f"query failed: {exc}"
            self._note(item, figures.reason)
            return False
        if cost is None:
            figures.available, figures.reason = False, "no target CPU series in the window"
            self._note(item, figures.reason)
            return False
        figures.available, figures.reason = True, None
        for rnd in cell.rounds:
            if rnd["index"] == item.round_index:
                rnd["prometheus_cpu_seconds"] = cost.cpu_seconds
        if item.last:
            figures.window = [start, end]
            figures.series = panel_series(prom, cell.system, self.run_id, start, end)
        return True

    @staticmethod
    def _note(item: Pending, reason: str) -> None:
        """Why this round has no Prometheus figure (kept if no later try finds one)."""
        for rnd in item.cell.rounds:
            if rnd["index"] == item.round_index:
                rnd["prometheus_reason"] = reason


def _legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legend format ({{label}}) filled from a series' labels."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def panel_series(
    prom: PrometheusAPI, system: str, run_id: str, start: float, end: float
) -> dict[str, list[dict[str, Any]]]:
    """The run dashboard's panels over a window, for the offline report."""
    series: dict[str, list[dict[str, Any]]] = {}
    for panel in dashboards.PANELS:
        lines = []
        for query in panel.queries:
            expr = dashboards.substitute(query.expr, system=system, run=run_id)
            try:
                found = prom.query_range(expr, start - SERIES_MARGIN_S, end + SERIES_MARGIN_S, 1)
            except (PrometheusError, OSError) as exc:
                log.warning("panel %s: %s", panel.title, exc)
                continue
            for item in found:
                try:
                    values = [[float(t), float(v)] for t, v in item["values"]]
                    legend = _legend(query.legend, dict(item["metric"]))
                except (KeyError, TypeError, ValueError):
                    log.warning("panel %s: a series of an unexpected shape, left out", panel.title)
                    continue
                values = [[t, v] for t, v in values if math.isfinite(v)]
                lines.append({"legend": legend, "values": values})
        series[panel.title] = lines
    return series
