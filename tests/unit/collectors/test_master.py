"""MasterCollector: Locust's aggregated state as Prometheus metrics, read at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from locust import User
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerNode
from prometheus_client import CollectorRegistry
from swarmbench.collectors.master import BUCKETS_US, MasterCollector

from swarmbench.engine.httpclient import Reason
from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.worker_report import NameTally
from swarmbench.telemetry.metrics import FAILURE_REASONS, failure_reason
from swarmbench.util.processes import free_port

REASONS = FAILURE_REASONS


class KeepAliveUser(User):
    abstract = False


def _registry(env: Environment, hist: LatencyHistogram | None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MasterCollector(env, lambda: hist))
    return registry


@pytest.fixture
def env() -> Iterator[Environment]:
    environment = Environment(user_classes=[KeepAliveUser])
    environment.parsed_options = SimpleNamespace(run_id="r1", system="node-std")  # type: ignore[assignment]
    environment.create_local_runner()
    yield environment
    assert environment.runner is not None
    environment.runner.quit()


def test_counters_histogram_and_run_info(env: Environment) -> None:
    hist = LatencyHistogram()
    for micros in (60, 60, 400, 2_000, 2_000_000):
        hist.record(micros)
    for _ in range(7):
        env.stats.log_request("GET", "/", 1, 5)
    env.stats.log_error("GET", "/", "ConnectionRefusedError")
    env.stats.log_request("GET", "/", 1, 0)
    env.stats.log_error("GET", "/x", "RequestFailed('short-body: 2 of 5 bytes')")
    env.stats.log_request("GET", "/x", 1, 0)
    env.stats.log_error("GET", "/x", "ValueError('something of its own')")
    env.stats.log_request("GET", "/x", 1, 0)
    registry = _registry(env, hist)
    get = registry.get_sample_value

    assert get("swarmbench_requests_total") == 10
    # Only swarmbench's fixed reasons label the failures, each exported even at 0.
    failures = {r: get("swarmbench_request_failures_total", {"reason": r}) for r in REASONS}
    assert failures == {**dict.fromkeys(REASONS, 0), "refused": 1, "short-body": 1, "other": 1}
    assert get("swarmbench_request_duration_seconds_bucket", {"le": "5e-05"}) == 0
    assert get("swarmbench_request_duration_seconds_bucket", {"le": "7.5e-05"}) == 2
    assert get("swarmbench_request_duration_seconds_bucket", {"le": "0.0005"}) == 3
    assert get("swarmbench_request_duration_seconds_bucket", {"le": "1.0"}) == 4
    assert get("swarmbench_request_duration_seconds_bucket", {"le": "+Inf"}) == 5
    assert get("swarmbench_request_duration_seconds_count") == 5
    assert get("swarmbench_request_duration_seconds_sum") == pytest.approx(2.00252, rel=0.01)
    info = {"run": "r1", "system": "node-std", "keepalive": "on"}
    assert get("swarmbench_run_info", info) == 1
    assert get("swarmbench_workers") == 1  # standalone: this process is the worker
    assert get("swarmbench_worker_cpu_ratio", {"worker": "local"}) is not None
    assert get("swarmbench_users") == 0
    assert len(BUCKETS_US) >= 25


def test_counters_never_go_down_after_a_stats_reset(env: Environment) -> None:
    hist = LatencyHistogram()
    for _ in range(10):
        env.stats.log_request("GET", "/", 1, 5)
        hist.record(100)
    registry = _registry(env, hist)
    assert registry.get_sample_value("swarmbench_requests_total") == 10
    assert registry.get_sample_value("swarmbench_request_duration_seconds_count") == 10
    env.stats.reset_all()
    hist.reset()
    for _ in range(3):
        env.stats.log_request("GET", "/", 1, 5)
        hist.record(100)
    assert registry.get_sample_value("swarmbench_requests_total") == 13
    assert registry.get_sample_value("swarmbench_request_duration_seconds_count") == 13
    le = {"le": "0.0001"}
    assert registry.get_sample_value("swarmbench_request_duration_seconds_bucket", le) == 13


def test_master_reports_each_worker() -> None:
    environment = Environment(user_classes=[KeepAliveUser])
    runner = environment.create_master_runner("127.0.0.1", free_port())
    try:
        assert isinstance(runner, MasterRunner)
        for worker_id, cpu, state in (
            ("h1_aa", 95, "ready"),
            ("h2_bb", 20, "ready"),
            ("h1_cc", 50, STATE_MISSING),
        ):
            node = WorkerNode(worker_id, state=state)
            node.cpu_usage = cpu
            runner.clients[worker_id] = node
        registry = _registry(environment, None)
        get = registry.get_sample_value
        assert get("swarmbench_workers") == 2
        assert get("swarmbench_worker_cpu_ratio", {"worker": "h1-0"}) == pytest.approx(0.95)
        assert get("swarmbench_worker_cpu_ratio", {"worker": "h2-1"}) == pytest.approx(0.2)
        assert get("swarmbench_worker_cpu_ratio", {"worker": "h1-2"}) is None  # missing
        assert get("swarmbench_request_duration_seconds_count") is None  # no histogram yet
        assert get("swarmbench_run_info", {"run": "", "system": "", "keepalive": "on"}) == 1
    finally:
        runner.quit()


def test_failure_reasons_are_the_engines_and_others_map_onto_them() -> None:
    assert set(FAILURE_REASONS) == {r.value for r in Reason} | {"other"}
    assert failure_reason("timeout: no answer in time") == "timeout"
    assert failure_reason("RequestFailed('bad-status: 503')") == "bad-status"
    assert failure_reason("ConnectionResetError(104, 'Connection reset by peer')") == "reset"
    assert failure_reason("HTTPError('500 Server Error: Internal Server Error')") == "bad-status"
    assert failure_reason("CatchResponseError('wrong json')") == "other"


def test_each_request_name_has_its_counters_and_histogram(env: Environment) -> None:
    fast, slow = NameTally(requests=3, failures=1), NameTally(requests=1)
    for micros in (60, 60, 400):
        fast.latency.record(micros)
    slow.latency.record(2_000_000)
    names = {("GET", "/"): fast, ("POST", "/cart"): slow}
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MasterCollector(env, lambda: None, lambda: names))
    get = registry.get_sample_value
    cart = {"method": "POST", "name": "/cart"}
    root = {"method": "GET", "name": "/"}
    assert get("swarmbench_named_requests_total", root) == 3
    assert get("swarmbench_named_request_failures_total", root) == 1
    assert get("swarmbench_named_requests_total", cart) == 1
    assert get("swarmbench_named_request_duration_seconds_bucket", {**root, "le": "7.5e-05"}) == 2
    assert get("swarmbench_named_request_duration_seconds_bucket", {**cart, "le": "1.0"}) == 0
    assert get("swarmbench_named_request_duration_seconds_count", cart) == 1
    # A new run starts the names from zero: the exported counters carry on from before.
    names = {("GET", "/"): NameTally(requests=1)}
    assert get("swarmbench_named_requests_total", root) == 4
