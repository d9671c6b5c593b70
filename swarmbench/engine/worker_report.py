"""The message a worker sends the master with its report: defined once, for both sides.

A worker's report is Locust's "stats" message; swarmbench adds its part under REPORT_KEY in the
same data (report_payload builds it, on a real worker in locust_hooks and on a simulated one in
workersim). The master takes it back out with read_report. FREEZE_MESSAGE is the master's
request for a final report: the worker stops counting and reports at once, with final set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swarmbench.engine.latency import LatencyHistogram

#: The master's message asking each worker to stop counting and send its final report now.
FREEZE_MESSAGE = "swarmbench_freeze"
#: Where swarmbench's part sits in the data of Locust's report_to_master / worker_report events.
REPORT_KEY = "swarmbench"


@dataclass(frozen=True)
class WorkerReport:
    """swarmbench's part of one worker report: what the worker did since its previous report."""

    #: LatencyHistogram.encode_delta() of the interval, for LatencyHistogram.merge_delta()
    histogram: bytes
    requests: int
    #: failure reason -> count
    failures: dict[str, int]
    #: the worker's CPU time and the wall time it was measured over
    cpu_seconds: float
    wall_seconds: float
    #: sent after FREEZE_MESSAGE: the worker's last report of the run
    final: bool


def report_payload(
    latency: LatencyHistogram,
    requests: int,
    failures: Mapping[str, int],
    cpu_s: float,
    wall_s: float,
    *,
    final: bool,
) -> dict[str, Any]:
    """swarmbench's part of one worker report, to put in its data under REPORT_KEY."""
    return {
        "cpu_seconds": cpu_s,
        "wall_seconds": wall_s,
        "histogram": latency.encode_delta(),
        "requests": requests,
        "failures": dict(failures),
        "final": final,
    }


def read_report(data: Mapping[str, Any]) -> WorkerReport | None:
    """swarmbench's part of a worker report's data, or None when it carries none."""
    payload = data.get(REPORT_KEY)
    if payload is None:
        return None
    return WorkerReport(
        histogram=payload["histogram"],
        requests=int(payload["requests"]),
        failures={reason: int(count) for reason, count in payload["failures"].items()},
        cpu_seconds=float(payload["cpu_seconds"]),
        wall_seconds=float(payload["wall_seconds"]),
        final=bool(payload["final"]),
    )
