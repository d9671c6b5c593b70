"""The master's run state: worker reports merged into totals, lost workers, exact-or-not totals,
and the latency JSON built from it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from locust import User
from locust.env import Environment

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.latency_json import build_result, json_path, store_result, stored_result
from swarmbench.engine.run_state import RunState
from swarmbench.engine.worker_report import REPORT_KEY, WorkerReport, read_report, report_payload


class KeepAliveUser(User):
    abstract = False


def _report(latencies_us: list[int], failures: dict[str, int], *, final: bool) -> WorkerReport:
    hist = LatencyHistogram()
    for us in latencies_us:
        hist.record(us)
    requests = len(latencies_us)
    report = read_report(
        {REPORT_KEY: report_payload(hist, requests, failures, 0.8, 1.0, final=final)}
    )
    assert report is not None
    return report


@pytest.fixture
def state() -> RunState:
    env = Environment(user_classes=[KeepAliveUser], host="http://127.0.0.1:8080/")
    env.parsed_options = SimpleNamespace(rate=0, latency_json="", csv_prefix=None)  # type: ignore[assignment]
    return RunState(env, started=100.0)


def test_reports_merge_into_one_histogram_and_totals(state: RunState) -> None:
    state.awaiting_final = {"w1", "w2"}
    state.merge_report("w1", _report([100, 200], {"timeout": 1}, final=False))
    state.merge_report("w2", _report([300], {"timeout": 2, "reset": 1}, final=True))
    state.merge_report("w1", _report([400], {}, final=True))
    assert state.requests == 4
    assert state.failures == {"timeout": 3, "reset": 1}
    assert state.latency.count == 4
    assert state.workers["w1"].requests == 3
    assert state.workers["w1"].cpu_samples == [80.0, 80.0]
    assert state.awaiting_final == set()
    state.close_totals()
    assert state.complete


def test_a_lost_worker_is_recorded_once_and_makes_totals_incomplete(state: RunState) -> None:
    state.awaiting_final = {"w1", "w2"}
    state.last_seen["w2"] = 123.0
    state.record_lost(["w2"])
    state.record_lost(["w2"])
    assert [(w["id"], w["last_seen"]) for w in state.workers_lost] == [("w2", 123.0)]
    assert state.awaiting_final == {"w1"}
    state.close_totals()
    assert not state.complete


def test_the_result_reads_the_state(state: RunState) -> None:
    state.merge_report("w1", _report([100, 200], {"timeout": 1}, final=True))
    state.stopped = 102.0
    result = build_result(state, state.latency)
    assert result["requests"] == 2
    assert result["failures_by_reason"] == {"timeout": 1}
    assert result["rps"] == 1.0
    assert result["user_class"] == "KeepAliveUser"
    assert result["complete"] and result["rate"] is None
    assert stored_result(state.environment) is None
    store_result(state.environment, result)
    assert stored_result(state.environment) is result


def test_json_path_prefers_the_option_then_the_csv_prefix() -> None:
    assert json_path(SimpleNamespace(latency_json="a.json", csv_prefix="run")) == "a.json"
    assert json_path(SimpleNamespace(latency_json="", csv_prefix="run")) == "run_latency.json"
    assert json_path(SimpleNamespace(latency_json="", csv_prefix=None)) == ""
