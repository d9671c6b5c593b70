"""swarmbench's Locust plugin under locustfiles written for plain Locust, and under its own users,
each with a third-party style listener attached, locally and distributed: every count compared.

For every (method, name) Locust's own stats, the listener (it hears events.request) and
swarmbench's latency JSON must hold the same requests and failures, and swarmbench's histogram
one sample per request.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import locust_runs
from fakes.locust_runs import LISTENER, LOCUSTFILES, PLUGIN, SWARMBENCH_USERS, Run

from swarmbench.engine.latency import LatencyHistogram

#: name -> (locustfiles, user class or "", names the run must show)
TWO_NAMES = {"GET /", "GET /cart"}
CASES = {
    "HttpUser": ((LOCUSTFILES / "http_user.py", LISTENER, PLUGIN), "", {"GET /"}),
    "FastHttpUser": ((LOCUSTFILES / "fast_two_names.py", LISTENER, PLUGIN), "", TWO_NAMES),
    "KeepAliveUser": ((SWARMBENCH_USERS, LISTENER), "KeepAliveUser", {"GET /"}),
}


def assert_every_count_agrees(run: Run, names: set[str]) -> None:
    assert "Traceback" not in run.output, run.output[-3000:]
    result = run.result
    locust = {f"{e['method']} {e['name']}": e for e in run.locust}
    ours = {f"{e['method']} {e['name']}": e for e in result["by_name"]}
    assert set(locust) == set(ours) == names, (sorted(locust), sorted(ours))
    for key in names:
        requests, failures = locust[key]["num_requests"], locust[key]["num_failures"]
        assert requests > 0, key
        assert ours[key]["requests"] == run.heard[key] == requests, key
        assert ours[key]["failures"] == run.heard_failures[key] == failures, key
        assert LatencyHistogram.decode(ours[key]["histogram"]).count == requests, key
        lat = ours[key]["latency_us"]
        assert 0 < lat["p50"] <= lat["p99"] <= lat["max"], key
    assert result["requests"] == sum(e["num_requests"] for e in run.locust)
    assert result["failures"] == sum(e["num_failures"] for e in run.locust)
    assert LatencyHistogram.decode(result["histogram"]).count == result["requests"]
    assert result["complete"] is True


@pytest.mark.parametrize("case", list(CASES))
def test_standalone_counts_agree(case: str, fake_server, tmp_path: Path) -> None:
    files, user_class, names = CASES[case]
    args = ["-u", "3", "-r", "3", "-t", "2s", "--host", fake_server("ok").rstrip("/")]
    run = locust_runs.headless(tmp_path, files, *args, *([user_class] if user_class else []))
    assert_every_count_agrees(run, names)
    if case == "FastHttpUser":
        assert run.result["failures_by_reason"] == {"CatchResponseError": run.result["failures"]}


@pytest.mark.parametrize("case", list(CASES))
def test_distributed_counts_agree(case: str, fake_server, tmp_path: Path) -> None:
    files, user_class, names = CASES[case]
    args = ["-u", "4", "-r", "4", "-t", "3s", "--host", fake_server("ok").rstrip("/")]
    run = locust_runs.distributed(tmp_path, files, *args, user_class=user_class)
    assert_every_count_agrees(run, names)
    workers = run.result["workers"]
    assert len(workers) == 2 and all(w["requests"] > 0 for w in workers.values()), workers
    assert "swarmbench latency (us)" in run.output
