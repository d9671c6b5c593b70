"""What the master (or a standalone Locust) knows about the current run, and how it grows.

Each worker report's histogram deltas merge into one cumulative histogram per request name and
its counts into the run's totals (a standalone Locust reports to itself the same way); the
run's total histogram is the names' merged when read. Workers Locust marks missing are recorded
as lost. At the end of a run engine.hooks freezes the workers and the state waits for each live
worker's final report, so the totals are exact, or says they are not. latency_json turns the
state into the result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust.env import Environment

from swarmbench.engine.cpu_meter import CpuMeter
from swarmbench.engine.hdr_export import IntervalLog
from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.run_lease import Lease
from swarmbench.engine.target_cpu import TargetCpu
from swarmbench.engine.worker_report import NameKey, NameTally, WorkerReport, name_tally

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
    #: (method, name) -> the run's cumulative count of that request name
    names: dict[NameKey, NameTally] = field(default_factory=dict)
    requests: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    workers: dict[str, WorkerTally] = field(default_factory=dict)
    started: float = 0.0
    stopped: float = 0.0
    meter: CpuMeter = field(default_factory=CpuMeter)
    awaiting_final: set[str] = field(default_factory=set)
    complete: bool = True
    #: the run's periodic work (lost workers, self-reports, interval log, target CPU)
    greenlets: list[gevent.Greenlet] = field(default_factory=list)
    #: on the master: the greenlet that started the run and dispatches its users
    starter: gevent.Greenlet | None = None
    #: worker id -> last heartbeat (epoch s), to say when a lost worker was last heard from
    last_seen: dict[str, float] = field(default_factory=dict)
    #: workers lost during the run: {"id", "at" (marked missing), "last_seen"}, epoch seconds
    workers_lost: list[dict[str, Any]] = field(default_factory=list)
    #: also given every delta merged, when the run writes an HdrHistogram interval log
    interval_log: IntervalLog | None = None
    #: the target's CPU per request, when --target-metrics names a collector
    target_cpu: TargetCpu | None = None
    #: when the run's /swarm form set --run-lease: renewed by each GET of the result
    lease: Lease | None = None
    _total: LatencyHistogram | None = field(default=None, repr=False)

    @property
    def latency(self) -> LatencyHistogram:
        """The run's total histogram: every name's merged (built when read after a merge)."""
        if self._total is None:
            total = LatencyHistogram()
            for tally in self.names.values():
                total.merge(tally.latency)
            self._total = total
        return self._total

    def merge_report(self, client_id: str, report: WorkerReport) -> None:
        """Add swarmbench's part of one worker report (worker_report.read_report's result)."""
        for part in report.names:
            key = (part.method, part.name)
            tally = name_tally(self.names, key)
            tally.latency.merge_delta(part.histogram)
            tally.requests += part.requests
            tally.failures += part.failures
            if self.interval_log is not None:
                self.interval_log.add(key, part.histogram)
        if report.names:
            self._total = None
        self.requests += report.requests
        for reason, count in report.failures.items():
            self.failures[reason] = self.failures.get(reason, 0) + count
        worker = self.workers.setdefault(client_id, WorkerTally())
        worker.requests += report.requests
        if report.requests:
            worker.cpu_seconds += report.cpu_seconds
            # A window under half a second (the final report) says little about saturation.
            if report.wall_seconds >= MIN_CPU_WINDOW_S:
                worker.cpu_samples.append(100 * report.cpu_seconds / report.wall_seconds)
        if report.final:
            self.awaiting_final.discard(client_id)

    def stop_greenlets(self) -> None:
        """Stop the run's periodic work and wait until it is dead, so none of it runs after the
        run's end: a greenlet whose wake-up is already due when killed without waiting (its
        timer fired in the same turn of the loop, as on a stalled master) runs once more
        before gevent delivers the kill, e.g. an interval-log tick after finish_run closed
        the log."""
        current = gevent.getcurrent()
        gevent.killall([g for g in self.greenlets if g is not current], block=True)
        self.greenlets.clear()

    def reset_counts(self, now: float) -> None:
        """Locust's stats were reset (--reset-stats after the ramp-up, the web UI's button):
        the run's counts, histograms and CPU start again from `now`; lost workers stay."""
        self.names.clear()
        self._total = None
        self.requests = 0
        self.failures.clear()
        self.workers.clear()
        self.started = now
        self.meter.read()

    def record_lost(self, missing: Iterable[str]) -> None:
        """Record each newly missing worker once; it will never send its final report."""
        known = {w["id"] for w in self.workers_lost}
        for wid in sorted(set(missing) - known):
            seen = self.last_seen.get(wid)
            self.workers_lost.append({"id": wid, "at": time.time(), "last_seen": seen})
            self.awaiting_final.discard(wid)
            log.warning("worker %s lost (no heartbeat since %s)", wid, seen)

    def wait_for_final_reports(
        self, missing: Callable[[], Iterable[str]], extra_s: float = 0.0
    ) -> None:
        """Until every awaited worker's final report is in, or FINAL_REPORT_TIMEOUT_S (plus
        `extra_s`: the workers' users may take Locust's --stop-timeout to stop) passes. A
        worker that goes `missing()` meanwhile is recorded as lost and no longer awaited (the
        run's watcher, which does this during the run, is stopped by now)."""
        deadline = time.monotonic() + FINAL_REPORT_TIMEOUT_S + extra_s
        while self.awaiting_final and time.monotonic() < deadline:
            gevent.sleep(FINAL_REPORT_POLL_S)
            self.record_lost(missing())

    def close_totals(self) -> None:
        """Mark the totals incomplete when a final report never came or a worker was lost."""
        if self.awaiting_final:
            log.warning("no final report from %s: totals may be short", sorted(self.awaiting_final))
            self.complete = False
        if self.workers_lost:
            self.complete = False  # a lost worker's requests since its last report are gone
