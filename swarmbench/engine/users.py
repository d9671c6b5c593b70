"""Locust users on swarmbench's own HTTP client: KeepAliveUser and CloseUser.

Each user loops inside one task until Locust stops it, so the per-request cost is the client,
one clock read and the bookkeeping below, not Locust's task scheduling and wait_time.

Bookkeeping is batched. Every request goes into the process's `Recorder`: the HDR histogram
(the microsecond truth) and a small batch that is added to Locust's StatsEntry objects every
FLUSH_EVERY requests or FLUSH_INTERVAL_S, and before each report to the master. Successes do
not fire `events.request` (that costs ~4 us a request); failures do, so Locust's error table
and failure counts work as usual.

With `--rate R` (the open model) users send at fixed intervals of users/R seconds and measure
latency from each request's intended start, as wrk2 does: a stalled server shows the time
requests waited to be sent, not only the time after sending.
"""

from __future__ import annotations

import logging
import random
import time
import weakref
from collections import Counter
from typing import ClassVar

import gevent
from locust import User, task
from locust.env import Environment
from locust.exception import StopUser
from locust.stats import StatsEntry, bucket_response_time
from locust.user.users import LOCUST_STATE_STOPPING

from swarmbench.engine.httpclient import BadURL, Client, Endpoint, Reason, RequestFailed
from swarmbench.engine.latency import LatencyHistogram

log = logging.getLogger(__name__)

FLUSH_EVERY = 256
FLUSH_INTERVAL_S = 0.25
#: After a failed connection a user waits this long, so an unreachable host is not a busy loop.
FAILURE_PAUSE_S = 0.01
#: Yield to other greenlets at least this often even if every recv finds data ready.
YIELD_EVERY = 64
METHOD = "GET"


class Recorder:
    """One per process: the histogram since the last report and Locust's batched counters."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self.latency = LatencyHistogram()
        self.requests = 0
        self.failures: Counter[str] = Counter()
        #: Set when the master asks for final totals: later requests are not counted anywhere.
        self.frozen = False
        self._name = "/"
        self._reset_batch()

    def _reset_batch(self) -> None:
        self._n = 0
        self._sum_us = 0
        self._min_us = 1 << 62
        self._max_us = 0
        self._bytes = 0
        self._ms: Counter[int] = Counter()
        self._last_flush = time.perf_counter()

    def reset(self) -> None:
        """A new run: everything since the last report is forgotten, recording resumes."""
        self.latency.reset()
        self.requests = 0
        self.failures.clear()
        self.frozen = False
        self._reset_batch()

    def success(self, name: str, micros: int, size: int, now: float) -> None:
        if self.frozen:
            return
        self.latency.record(micros)
        self.requests += 1
        self._name = name
        self._n += 1
        self._sum_us += micros
        # Branches, not min()/max(): this runs for every request.
        if micros < self._min_us:  # noqa: PLR1730
            self._min_us = micros
        if micros > self._max_us:  # noqa: PLR1730
            self._max_us = micros
        self._bytes += size
        self._ms[(micros + 500) // 1000] += 1
        if self._n >= FLUSH_EVERY or now - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def failure(self, name: str, micros: int, exc: RequestFailed) -> None:
        if self.frozen:
            return
        self.flush()
        self.requests += 1
        self.failures[exc.reason.value] += 1
        self.environment.events.request.fire(
            request_type=METHOD,
            name=name,
            response_time=micros / 1000,
            response_length=0,
            exception=exc,
            context={},
        )

    def flush(self) -> None:
        """Add the batch to Locust's per-URL and total StatsEntry, as n calls of log() would."""
        if not self._n:
            self._last_flush = time.perf_counter()
            return
        stats = self.environment.stats
        for entry in (stats.get(self._name, METHOD), stats.total):
            self._add_to(entry)
        self._reset_batch()

    def _add_to(self, entry: StatsEntry) -> None:
        """What StatsEntry.log() does n times, done once (Locust's fields, Locust's rounding)."""
        now = time.time()
        t = int(now)
        last = entry.last_request_timestamp
        if entry.use_response_times_cache and last and t > int(last):
            entry._cache_response_times(t - 1)
        entry.num_requests += self._n
        entry.num_reqs_per_sec[t] += self._n
        entry.last_request_timestamp = now
        # Fractional milliseconds, as HttpUser logs them (Locust's annotations say int).
        entry.total_response_time += self._sum_us / 1000  # type: ignore[assignment]
        low, high = self._min_us / 1000, self._max_us / 1000
        if entry.min_response_time is None or low < entry.min_response_time:
            entry.min_response_time = low  # type: ignore[assignment]
        entry.max_response_time = max(entry.max_response_time, high)  # type: ignore[assignment]
        for millis, count in self._ms.items():
            entry.response_times[bucket_response_time(millis)] += count
        entry.total_content_length += self._bytes


_recorders: weakref.WeakKeyDictionary[Environment, Recorder] = weakref.WeakKeyDictionary()


def recorder_for(environment: Environment) -> Recorder:
    recorder = _recorders.get(environment)
    if recorder is None:
        recorder = _recorders[environment] = Recorder(environment)
    return recorder


def total_users(environment: Environment) -> int:
    """All users of the run, over every worker (set by the master in swarmbench.engine.hooks)."""
    opts = environment.parsed_options
    users = getattr(opts, "swarmbench_users", 0) or getattr(opts, "num_users", 0) or 1
    return max(1, int(users))


def rate_of(environment: Environment) -> float:
    return float(getattr(environment.parsed_options, "rate", 0) or 0)


class _HelloUser(User):
    """Shared loop of both users; `close_each` picks the connection model."""

    abstract = True
    close_each: ClassVar[bool] = False
    timeout_s: ClassVar[float] = 10.0

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.client: Client | None = None

    def on_start(self) -> None:
        try:
            endpoint = Endpoint.from_url(self.host or "")
        except BadURL as exc:
            log.error("cannot load %s", exc)
            raise StopUser() from None
        self.client = Client(endpoint, close=self.close_each, timeout=self.timeout_s)

    def on_stop(self) -> None:
        if self.client is not None:
            self.client.close()

    @task
    def hello(self) -> None:
        recorder = recorder_for(self.environment)
        try:
            if rate_of(self.environment) > 0:
                self._paced_loop(recorder)
            else:
                self._closed_loop(recorder)
        finally:
            recorder.flush()

    def _closed_loop(self, recorder: Recorder) -> None:
        client = self.client
        assert client is not None
        name = client.endpoint.path
        clock = time.perf_counter
        i = 0
        while self._state != LOCUST_STATE_STOPPING:
            start = clock()
            try:
                size = client.request()
            except RequestFailed as exc:
                end = clock()
                recorder.failure(name, int((end - start) * 1e6), exc)
                _pause_after(exc)
                continue
            end = clock()
            recorder.success(name, int((end - start) * 1e6), size, end)
            i += 1
            if i >= YIELD_EVERY:
                i = 0
                gevent.sleep(0)

    def _paced_loop(self, recorder: Recorder) -> None:
        """Open model: request k is due at t0 + k * interval; latency counts from then."""
        client = self.client
        assert client is not None
        name = client.endpoint.path
        clock = time.perf_counter
        env = self.environment
        interval = total_users(env) / rate_of(env)
        due = clock() + random.random() * interval  # spread the users' phases over one interval
        while self._state != LOCUST_STATE_STOPPING:
            now = clock()
            if due > now:
                gevent.sleep(due - now)
            try:
                size = client.request()
            except RequestFailed as exc:
                end = clock()
                recorder.failure(name, int((end - due) * 1e6), exc)
                _pause_after(exc)
            else:
                end = clock()
                recorder.success(name, int((end - due) * 1e6), size, end)
            # Re-read each time: the web UI can change the user count mid-run.
            interval = total_users(env) / (rate_of(env) or 1)
            due += interval
            gevent.sleep(0)


def _pause_after(exc: RequestFailed) -> None:
    if exc.reason in (Reason.REFUSED, Reason.RESET, Reason.TIMEOUT):
        gevent.sleep(FAILURE_PAUSE_S)
    else:
        gevent.sleep(0)


class KeepAliveUser(_HelloUser):
    """GET the host's URL over one persistent HTTP/1.1 connection per user."""

    close_each = False


class CloseUser(_HelloUser):
    """GET with `Connection: close`: one TCP connection per request, the server closes first."""

    close_each = True
