"""Every request this process makes, counted per request name: the recording side of the plugin.

One Recorder per process (Locust runs one Environment per process). Requests reach it two ways:

- events.request, which HttpUser, FastHttpUser and every client that reports to Locust fire:
  `on_request` (a listener engine.hooks adds) counts the request under its (method, name) in a
  microsecond HDR histogram (Locust's `response_time` is a float of milliseconds), with its
  requests and failures.
- swarmbench's own users (engine.users) call `success`: firing events.request costs about 4 us
  a request (Locust's own stats listener logs each one), so their successes are counted here and
  added to Locust's StatsEntry objects in batches of FLUSH_EVERY requests or FLUSH_INTERVAL_S.
  When anything else listens to events.request (--otel, a plugin, the locustfile's own listener)
  `fire_successes` is set at test start and every success is fired like anyone's, so every
  listener sees every request. Failures are always fired.

`take_report` hands over what was counted since the previous report (a worker's report to the
master, a standalone Locust's to itself) and clears it.
"""

from __future__ import annotations

import time
import weakref
from collections import Counter
from collections.abc import Callable
from typing import Any

from locust.env import Environment
from locust.event import EventHook
from locust.stats import StatsEntry, bucket_response_time

from swarmbench.engine.httpclient import Reason, RequestFailed
from swarmbench.engine.worker_report import (
    HISTOGRAMS_PER_REPORT,
    NameKey,
    NameTally,
    name_tally,
    take_payload,
)
from swarmbench.telemetry import metrics

FLUSH_EVERY = 256
FLUSH_INTERVAL_S = 0.25
METHOD = "GET"


def failure_reason(exception: object) -> str:
    """One of swarmbench's fixed failure reasons (telemetry.metrics.FAILURE_REASONS) for any
    client's exception: swarmbench's own as they are, the usual socket errors by their class,
    the rest by the text of Locust's error table (metrics.failure_reason), else "other"."""
    if isinstance(exception, RequestFailed):
        return exception.reason.value
    if isinstance(exception, ConnectionRefusedError):
        return Reason.REFUSED.value
    if isinstance(exception, ConnectionResetError | BrokenPipeError):
        return Reason.RESET.value
    if isinstance(exception, TimeoutError):
        return Reason.TIMEOUT.value
    status = getattr(getattr(exception, "response", None), "status_code", None)
    if isinstance(status, int) and status >= 300:
        return Reason.BAD_STATUS.value
    return metrics.failure_reason(exception if isinstance(exception, str) else repr(exception))


def _is_locust_stats_listener(handler: Callable[..., Any]) -> bool:
    """Locust's runner logs every request into its stats with a listener of its own."""
    return getattr(handler, "__module__", None) == "locust.runners" and getattr(
        handler, "__qualname__", ""
    ).endswith(".on_request")


def others_listen(request_event: EventHook, own: Callable[..., Any]) -> bool:
    """Whether anything but Locust's stats and swarmbench listens to events.request."""
    return any(
        handler != own and not _is_locust_stats_listener(handler)
        for handler in request_event._handlers
    )


class _LocustBatch:
    """Successes not yet added to Locust's StatsEntry objects (swarmbench's users only)."""

    __slots__ = ("bytes", "last_flush", "max_us", "min_us", "ms", "n", "name", "sum_us")

    def __init__(self, name: str = "/") -> None:
        self.name = name
        self.n = 0
        self.sum_us = 0
        self.min_us = 1 << 62
        self.max_us = 0
        self.bytes = 0
        self.ms: Counter[int] = Counter()
        self.last_flush = time.perf_counter()

    def add_to(self, entry: StatsEntry) -> None:
        """What StatsEntry.log() does n times, done once (Locust's fields, Locust's rounding)."""
        now = time.time()
        t = int(now)
        last = entry.last_request_timestamp
        if entry.use_response_times_cache and last and t > int(last):
            entry._cache_response_times(t - 1)
        entry.num_requests += self.n
        entry.num_reqs_per_sec[t] += self.n
        entry.last_request_timestamp = now
        # Fractional milliseconds, as HttpUser logs them (Locust's annotations say int).
        entry.total_response_time += self.sum_us / 1000  # type: ignore[assignment]
        low, high = self.min_us / 1000, self.max_us / 1000
        if entry.min_response_time is None or low < entry.min_response_time:
            entry.min_response_time = low  # type: ignore[assignment]
        entry.max_response_time = max(entry.max_response_time, high)  # type: ignore[assignment]
        for millis, count in self.ms.items():
            entry.response_times[bucket_response_time(millis)] += count
        entry.total_content_length += self.bytes


class Recorder:
    """One per process: every request name's count since the last report."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.names: dict[NameKey, NameTally] = {}
        #: failure reason -> count since the last report, over every name
        self.failures: Counter[str] = Counter()
        #: Set once the run's final report is taken: later requests are not counted anywhere.
        self.frozen = False
        #: Fire events.request for swarmbench's users' successes (something else listens).
        self.fire_successes = False
        self._batch = _LocustBatch()

    # -- every User class, through events.request ---------------------------------------------
    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int = 0,
        exception: object = None,
        **_kwargs: Any,
    ) -> None:
        """The events.request listener: one request of any user, counted under its name."""
        if self.frozen:
            return
        key = (request_type, name)
        tally = self.names.get(key) or name_tally(self.names, key)
        # Requests without a duration (Locust allows None) count, but have no latency to record.
        if response_time is not None:
            tally.latency.record(int(response_time * 1000 + 0.5))
        tally.requests += 1
        if exception is not None:
            tally.failures += 1
            self.failures[failure_reason(exception)] += 1

    # -- swarmbench's users ---------------------------------------------------------------------
    def success(self, name: str, micros: int, size: int, now: float) -> None:
        if self.frozen:
            return
        if self.fire_successes:
            self._fire(name, micros, size, None)
            return
        key = (METHOD, name)
        tally = self.names.get(key) or name_tally(self.names, key)
        tally.latency.record(micros)
        tally.requests += 1
        batch = self._batch
        if name != batch.name:
            self.flush()
            batch = self._batch = _LocustBatch(name)
        batch.n += 1
        batch.sum_us += micros
        # Branches, not min()/max(): this runs for every request.
        if micros < batch.min_us:  # noqa: PLR1730
            batch.min_us = micros
        if micros > batch.max_us:  # noqa: PLR1730
            batch.max_us = micros
        batch.bytes += size
        batch.ms[(micros + 500) // 1000] += 1
        if batch.n >= FLUSH_EVERY or now - batch.last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def failure(self, name: str, micros: int, exc: RequestFailed) -> None:
        """Fired, so Locust's error table has it; on_request counts it here."""
        if self.frozen:
            return
        self.flush()
        self._fire(name, micros, 0, exc)

    def _fire(self, name: str, micros: int, size: int, exc: RequestFailed | None) -> None:
        self.environment.events.request.fire(
            request_type=METHOD,
            name=name,
            response_time=micros / 1000,
            response_length=size,
            response=None,
            context={},
            exception=exc,
            start_time=time.time() - micros / 1e6,
            url=name,
        )

    def flush(self) -> None:
        """Add the batch to Locust's per-name and total StatsEntry, as n calls of log() would."""
        batch = self._batch
        if batch.n:
            stats = self.environment.stats
            for entry in (stats.get(batch.name, METHOD), stats.total):
                batch.add_to(entry)
            self._batch = _LocustBatch(batch.name)
        else:
            batch.last_flush = time.perf_counter()

    # -- reports ----------------------------------------------------------------------------------
    def take_report(
        self, cpu_s: float, wall_s: float, histograms: int | None = HISTOGRAMS_PER_REPORT
    ) -> dict[str, Any]:
        """The report payload of what was counted since the last one (worker_report.
        take_payload: at most `histograms` names' histograms, all in a final report).
        Locust's stats get the batch first, so both halves of the report hold the same requests.
        """
        self.flush()
        payload = take_payload(
            self.names, self.failures, cpu_s, wall_s, final=self.frozen, histograms=histograms
        )
        self.failures.clear()
        return payload

    def clear(self) -> None:
        """Forget everything counted and not reported (Locust's stats were reset)."""
        for tally in self.names.values():
            tally.latency.reset()
            tally.requests = tally.failures = tally.waiting = 0
        self.failures.clear()
        self._batch = _LocustBatch(self._batch.name)

    def restart(self) -> None:
        """A new run: nothing counted, recording resumes."""
        self.clear()
        self.frozen = False


_recorders: weakref.WeakKeyDictionary[Environment, Recorder] = weakref.WeakKeyDictionary()


def recorder_for(environment: Environment) -> Recorder:
    recorder = _recorders.get(environment)
    if recorder is None:
        recorder = _recorders[environment] = Recorder(environment)
    return recorder
