"""The target's CPU per request during a Locust run, from a swarmbench collector beside it.

The collector (`swarmbench collector`, collectors/target.py) exports the target's process tree
CPU seconds as a counter. Read with the run's request count at the start of the run, every
SAMPLE_INTERVAL_S and at its end, the CPU spent between two readings over the requests between
them is the figure the shoot-out is about, for the locustfile's own traffic. On the master the
request count arrives with worker reports (every 3 s), so the figure so far trails the CPU by up
to one report; the run's figure, read after the final reports, does not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from swarmbench.telemetry import metrics
from swarmbench.telemetry.scrape import counter_total

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 2.0
SCRAPE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Reading:
    cpu_seconds: float
    requests: int


class TargetCpu:
    """Readings of one collector over a run (from its start, or from a reset of the stats)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.first: Reading | None = None
        self.latest: Reading | None = None
        self._warned = False

    def sample(self, requests: int) -> None:
        cpu = counter_total(self.url, metrics.TARGET_CPU_SECONDS, SCRAPE_TIMEOUT_S)
        if cpu is None:
            if not self._warned:
                log.warning("no %s at %s: no target CPU per request", metrics.TARGET_CPU_SECONDS,
                            self.url)  # fmt: skip
                self._warned = True
            return
        reading = Reading(cpu, requests)
        if self.first is None or requests < self.first.requests:
            self.first = reading  # the first reading, or the first after a reset
        self.latest = reading

    def restart(self, requests: int = 0) -> None:
        """Count from now on (Locust's stats were reset)."""
        self.first = self.latest = None
        self.sample(requests)

    def us_per_request(self) -> float | None:
        """Target CPU microseconds per request between the first and the latest reading."""
        if self.first is None or self.latest is None:
            return None
        requests = self.latest.requests - self.first.requests
        if requests <= 0:
            return None
        return round(1e6 * (self.latest.cpu_seconds - self.first.cpu_seconds) / requests, 2)
