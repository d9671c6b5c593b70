"""Locust users on swarmbench's own HTTP client: KeepAliveUser and CloseUser.

Each user loops inside one task until Locust stops it, so the per-request cost is the client,
one clock read and the bookkeeping below, not Locust's task scheduling and wait_time.

Bookkeeping is the process's `Recorder` (engine.recorder): successes go into its HDR histogram
and a batch added to Locust's stats, without firing `events.request` (~4 us a request) unless
something besides Locust and swarmbench listens to it; failures are always fired, so Locust's
error table and every listener see them.

With `--rate R` (the open model) users send at fixed intervals of users/R seconds and measure
latency from each request's intended start, as wrk2 does: a stalled server shows the time
requests waited to be sent, not only the time after sending.
"""

from __future__ import annotations

import logging
import random
import time
from typing import ClassVar

import gevent
from locust import User, task
from locust.env import Environment
from locust.exception import StopUser
from locust.user.users import LOCUST_STATE_STOPPING

from swarmbench.engine.httpclient import BadURL, Client, Endpoint, Reason, RequestFailed
from swarmbench.engine.recorder import Recorder, recorder_for

log = logging.getLogger(__name__)

#: After a failed connection a user waits this long, so an unreachable host is not a busy loop.
FAILURE_PAUSE_S = 0.01
#: Yield to other greenlets at least this often even if every recv finds data ready.
YIELD_EVERY = 64


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
