"""The Recorder: every request of any user per name, swarmbench's users batched, and when it
must fire events.request for them instead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from locust import User
from locust.env import Environment

from swarmbench.engine.httpclient import Reason, RequestFailed
from swarmbench.engine.recorder import Recorder, failure_reason, others_listen
from swarmbench.engine.worker_report import MAX_NAMES, OTHER_NAMES, REPORT_KEY, read_report


class SomeUser(User):
    abstract = False


@pytest.fixture
def env() -> Iterator[Environment]:
    environment = Environment(user_classes=[SomeUser])  # its own events, not Locust's globals
    environment.create_local_runner()  # adds Locust's own stats listener to events.request
    yield environment
    assert environment.runner is not None
    environment.runner.quit()


def _fire(env: Environment, name: str, ms: float, exception: object = None) -> None:
    env.events.request.fire(request_type="GET", name=name, response_time=ms,
                            response_length=5, exception=exception, context={})  # fmt: skip


def test_requests_of_any_user_count_per_name_like_locusts_stats(env: Environment) -> None:
    recorder = Recorder(env)
    env.events.request.add_listener(recorder.on_request)
    for ms in (0.25, 0.5, 12.0):
        _fire(env, "/a", ms)
    _fire(env, "/b", 1.0, exception=ConnectionResetError())
    a, b = recorder.names[("GET", "/a")], recorder.names[("GET", "/b")]
    assert (a.requests, a.failures, b.requests, b.failures) == (3, 0, 1, 1)
    assert (a.latency.percentile_us(0), a.latency.max_us) == (250, 12_007)  # 3 digits
    assert recorder.failures == {"reset": 1}
    assert env.stats.total.num_requests == 4  # Locust's own listener saw the same
    report = read_report({REPORT_KEY: recorder.take_report(0.1, 1.0)})
    assert report is not None and report.requests == 4
    assert not recorder.failures and recorder.names[("GET", "/a")].requests == 0


def test_swarmbench_users_are_batched_into_locusts_stats(env: Environment) -> None:
    recorder = Recorder(env)
    for _ in range(10):
        recorder.success("/", 300, 5, now=0.0)
    assert env.stats.total.num_requests == 0  # not yet flushed
    report = read_report({REPORT_KEY: recorder.take_report(0.1, 1.0)})
    assert report is not None and report.requests == 10
    assert env.stats.total.num_requests == env.stats.get("/", "GET").num_requests == 10
    assert env.stats.total.total_content_length == 50


def test_anyone_else_listening_makes_swarmbench_users_fire(env: Environment) -> None:
    recorder = Recorder(env)
    env.events.request.add_listener(recorder.on_request)
    assert not others_listen(env.events.request, recorder.on_request)
    heard: list[str] = []
    env.events.request.add_listener(lambda name, **_kw: heard.append(name))
    assert others_listen(env.events.request, recorder.on_request)
    recorder.fire_successes = True
    recorder.success("/", 300, 5, now=0.0)
    recorder.failure("/", 900, RequestFailed(Reason.TIMEOUT))
    assert heard == ["/", "/"]
    assert recorder.names[("GET", "/")].requests == 2
    assert env.stats.total.num_requests == 2 and env.stats.total.num_failures == 1


def test_names_beyond_the_cap_are_one_entry_and_frozen_counts_nothing(env: Environment) -> None:
    recorder = Recorder(env)
    for i in range(MAX_NAMES + 3):
        recorder.on_request("GET", f"/{i}", 1.0)
    assert recorder.names[OTHER_NAMES].requests == 3
    recorder.frozen = True
    recorder.on_request("GET", "/0", 1.0)
    assert recorder.names[("GET", "/0")].requests == 1


@pytest.mark.parametrize(
    ("exception", "reason"),
    [
        (RequestFailed(Reason.SHORT_BODY), "short-body"),
        (ConnectionRefusedError(), "refused"),
        (BrokenPipeError(), "reset"),
        (TimeoutError(), "timeout"),
        (type("ReadTimeout", (Exception,), {})(), "timeout"),
        (type("HTTPError", (Exception,), {"response": type("R", (), {"status_code": 503})()})(),
         "bad-status"),
        (ValueError("x"), "other"),
        ("a message", "other"),
    ],
)  # fmt: skip
def test_failure_reasons(exception: object, reason: str) -> None:
    assert failure_reason(exception) == reason
