"""The PromQL swarmbench asks Prometheus, built in one place from telemetry.metrics' names.

The dashboards' panel queries live with the panels (telemetry.dashboards); everything the bench
reads back for a cell (its CPU over the window, its peaks, whether the target stayed up, whether
its collector is scraped yet) is built here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from swarmbench.telemetry import metrics
from swarmbench.telemetry.prometheus import PrometheusAPI, PrometheusError


def selector(system: str) -> str:
    """A label selector for one system's series."""
    return f'{{system="{system}"}}'


def target_up_now(system: str) -> str:
    """Non-empty while the system's collector finds its server."""
    return f"{metrics.TARGET_UP}{selector(system)} == 1"


@dataclass(frozen=True)
class TargetPeaks:
    """The target's peaks over a window and whether it was up throughout."""

    rss_bytes: float | None
    threads: float | None
    always_up: bool | None


def target_peaks(prom: PrometheusAPI, system: str, start: float, at: float) -> TargetPeaks:
    """Peak RSS and threads, and whether the target was up, over [start, at]."""
    window = f"[{max(1, math.ceil(at - start))}s]"
    sel = selector(system)

    def first(expr: str) -> float | None:
        found = values(prom.query(expr, at=at))
        return found[0] if found else None

    up = first(f"min(min_over_time({metrics.TARGET_UP}{sel}{window}))")
    return TargetPeaks(
        rss_bytes=first(f"max(max_over_time({metrics.TARGET_RSS_BYTES}{sel}{window}))"),
        threads=first(f"max(max_over_time({metrics.TARGET_THREADS}{sel}{window}))"),
        always_up=None if up is None else up >= 1,
    )


@dataclass(frozen=True)
class WindowCost:
    """What the target's process tree spent on the requests completed in [start, end]."""

    cpu_seconds: float
    requests: float

    @property
    def cpu_us_per_request(self) -> float | None:
        return self.cpu_seconds * 1e6 / self.requests if self.requests > 0 else None


def window_cost(
    prom: PrometheusAPI,
    system: str,
    start: float,
    end: float,
    lookback_s: float = 10.0,
    *,
    with_requests: bool = True,
) -> WindowCost | None:
    """Counter differences between two instants, from the raw series rather than rate().

    rate() extrapolates to its window's edges and sees Locust's totals only at worker reports;
    the difference of the last samples at two instants does neither, so a whole cell measured
    from before its load to after it (Locust gone by then) is exact. `lookback_s` finds a
    series whose exporter has exited (its last sample, staleness ignored); keep it shorter than
    the gap to an earlier cell's Locust. A counter reset inside the window is not handled.
    None when the target's CPU series is missing at either instant; requests are 0 when no
    Locust master reported (wrk and ab cells), and without `with_requests` (interleaved
    rounds relabel one Locust exporter within the lookback, which that join cannot take).
    """
    sel = f'system="{system}"'
    look = f"[{lookback_s:g}s]"
    cpu = f"sum(last_over_time({metrics.TARGET_CPU_SECONDS}_total{{{sel}}}{look}))"
    req = (
        f"sum(last_over_time({metrics.REQUESTS}_total{look}) * on (job, instance) "
        f"group_left () last_over_time({metrics.RUN_INFO}{{{sel}}}{look}))"
    )

    def at(expr: str, when: float) -> float | None:
        found = values(prom.query(expr, at=when))
        return found[0] if found else None

    cpu_start, cpu_end = at(cpu, start), at(cpu, end)
    if cpu_start is None or cpu_end is None:
        return None
    if not with_requests:
        return WindowCost(cpu_seconds=cpu_end - cpu_start, requests=0.0)
    return WindowCost(
        cpu_seconds=cpu_end - cpu_start,
        requests=(at(req, end) or 0.0) - (at(req, start) or 0.0),
    )


def values(result: list[dict[str, Any]]) -> list[float]:
    """The finite numbers of an instant query's result, in result order; PrometheusError when
    a sample is not [time, "number"] (NaN and infinities, which PromQL can yield, are left out)."""
    found = []
    for item in result:
        try:
            value = float(item["value"][1])
        except (KeyError, IndexError, TypeError, ValueError):
            raise PrometheusError(f"a sample that is not [time, number]: {item!r:.80}") from None
        if math.isfinite(value):
            found.append(value)
    return found
