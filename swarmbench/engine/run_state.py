"""What the master (or a standalone Locust) knows about the current run, and how it grows.

Each worker report's histogram delta merges into one cumulative histogram and its counts into
the run's totals; workers Locust marks missing are recorded as lost. At the end of a run
locust_hooks freezes the workers and the state waits for each live worker's final report, so
the totals are exact, or says they are not. latency_json turns the state into the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust.env import Environment

from swarmbench.engine.cpu_meter import CpuMeter
from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.worker_report import WorkerReport

log = logging.getLogger(__name__)

#: How long the master waits for every worker's final report before writing partial totals.
FINAL_REPORT_TIMEOUT_S = 10.0
#: How often the final-report wait checks again (the lost-worker watcher runs in between).
FINAL_REPORT_POLL_S = 0.05
MIN_CPU_WINDOW_S = 0.5


@dataclass
class WorkerTally:
    requests: int = 0
    #: CPU % of one core over each report interval (or each second when standalone)
    cpu_samples: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0


@dataclass
class RunState:
    """What the master (or a standalone Locust) knows about the current run."""

    environment: Environment
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    requests: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    workers: dict[str, WorkerTally] = field(default_factory=dict)
    started: float = 0.0
    stopped: float = 0.0
    meter: CpuMeter = field(default_factory=CpuMeter)
    awaiting_final: set[str] = field(default_factory=set)
    complete: bool = True
    sampler: gevent.Greenlet | None = None
    #: worker id -> last heartbeat (epoch s), to say when a lost worker was last heard from
    last_seen: dict[str, float] = field(default_factory=dict)
    #: workers lost during the run: {"id", "at" (marked missing), "last_seen"}, epoch seconds
    workers_lost: list[dict[str, Any]] = field(default_factory=list)

    def merge_report(self, client_id: str, report: WorkerReport) -> None:
        """Add swarmbench's part of one worker report (worker_report.read_report's result)."""
        self.latency.merge_delta(report.histogram)
        self.requests += report.requests
        for reason, count in report.failures.items():
            self.failures[reason] = self.failures.get(reason, 0) + count
        tally = self.workers.setdefault(client_id, WorkerTally())
        tally.requests += report.requests
        if report.requests:
            tally.cpu_seconds += report.cpu_seconds
            # A window under half a second (the final report) says little about saturation.
            if report.wall_seconds >= MIN_CPU_WINDOW_S:
                tally.cpu_samples.append(100 * report.cpu_seconds / report.wall_seconds)
        if report.final:
            self.awaiting_final.discard(client_id)

    def record_lost(self, missing: Iterable[str]) -> None:
        """Record each newly missing worker once; it will never send its final report."""
        known = {w["id"] for w in self.workers_lost}
        for wid in sorted(set(missing) - known):
            seen = self.last_seen.get(wid)
            self.workers_lost.append({"id": wid, "at": time.time(), "last_seen": seen})
            self.awaiting_final.discard(wid)
            log.warning("worker %s lost (no heartbeat since %s)", wid, seen)

    def wait_for_final_reports(self) -> None:
        """Until every awaited worker's final report is in, or FINAL_REPORT_TIMEOUT_S passes."""
        deadline = time.monotonic() + FINAL_REPORT_TIMEOUT_S
        while self.awaiting_final and time.monotonic() < deadline:
            gevent.sleep(FINAL_REPORT_POLL_S)  # the watcher drops workers that go missing meanwhile

    def close_totals(self) -> None:
        """Mark the totals incomplete when a final report never came or a worker was lost."""
        if self.awaiting_final:
            log.warning("no final report from %s: totals may be short", sorted(self.awaiting_final))
            self.complete = False
        if self.workers_lost:
            self.complete = False  # a lost worker's requests since its last report are gone
