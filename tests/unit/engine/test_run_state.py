"""The master's run state: worker reports merged into totals, lost workers, exact-or-not totals,
and the latency JSON built from it."""

from __future__ import annotations

from types import SimpleNamespace

import gevent
import pytest
from locust import User
from locust.env import Environment

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.latency_json import build_result, json_path, store_result, stored_result
from swarmbench.engine.run_state import RunState
from swarmbench.engine.worker_report import (
    MAX_NAMES,
    OTHER_NAMES,
    REPORT_KEY,
    NameTally,
    WorkerReport,
    read_report,
    take_payload,
)


class KeepAliveUser(User):
    abstract = False


def _report(
    latencies_us: list[int], failures: dict[str, int], *, final: bool, name: str = "/"
) -> WorkerReport:
    hist = LatencyHistogram()
    for us in latencies_us:
        hist.record(us)
    tally = NameTally(hist, len(latencies_us), sum(failures.values()))
    payload = take_payload({("GET", name): tally}, failures, 0.8, 1.0, final=final)
    report = read_report({REPORT_KEY: payload})
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


def test_each_name_merges_apart_and_the_total_is_their_sum(state: RunState) -> None:
    state.merge_report("w1", _report([100, 200], {}, final=False, name="/a"))
    state.merge_report("w2", _report([5_000], {"timeout": 1}, final=False, name="/b"))
    assert state.latency.count == 3
    state.merge_report("w1", _report([300], {}, final=False, name="/a"))
    assert state.latency.count == 4  # the cached total follows later merges
    a, b = state.names[("GET", "/a")], state.names[("GET", "/b")]
    assert (a.requests, a.failures, a.latency.count) == (3, 0, 3)
    assert (b.requests, b.failures) == (1, 1)
    assert 4_990 <= b.latency.max_us <= 5_010
    result = build_result(state, state.latency)
    assert [(e["name"], e["requests"], e["failures"]) for e in result["by_name"]] == [
        ("/a", 3, 0),
        ("/b", 1, 1),
    ]
    assert LatencyHistogram.decode(result["by_name"][0]["histogram"]).count == 3


def test_names_beyond_the_cap_are_counted_together(state: RunState) -> None:
    for i in range(MAX_NAMES + 5):
        state.merge_report("w1", _report([100], {}, final=False, name=f"/{i}"))
    assert len(state.names) == MAX_NAMES + 1
    assert state.names[OTHER_NAMES].requests == 5
    assert state.requests == state.latency.count == MAX_NAMES + 5


def test_a_reset_starts_the_counts_again(state: RunState) -> None:
    state.merge_report("w1", _report([100, 200], {"timeout": 1}, final=False))
    state.reset_counts(150.0)
    assert (state.requests, state.failures, state.latency.count) == (0, {}, 0)
    assert state.started == 150.0 and state.workers == {}
    state.merge_report("w1", _report([300], {}, final=False))
    assert state.requests == state.latency.count == 1


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


def test_stopped_greenlets_are_dead_when_stop_returns(state: RunState) -> None:
    """The run's end closes what the periodic work writes to right after stopping it."""
    ticks: list[int] = []

    def tick() -> None:
        while True:
            gevent.sleep(0)
            ticks.append(1)

    state.greenlets = [gevent.spawn(tick), gevent.spawn(tick)]
    gevent.sleep(0.01)
    running = list(state.greenlets)
    state.stop_greenlets()
    assert all(g.dead for g in running) and state.greenlets == []
    seen = len(ticks)
    gevent.sleep(0.01)
    assert len(ticks) == seen


def test_a_worker_lost_while_the_master_waits_is_not_awaited(state: RunState) -> None:
    state.awaiting_final = {"w1", "w2"}
    state.merge_report("w1", _report([100], {}, final=True))
    state.wait_for_final_reports(lambda: {"w2"})
    assert state.awaiting_final == set()
    assert [w["id"] for w in state.workers_lost] == ["w2"]
    state.close_totals()
    assert not state.complete
