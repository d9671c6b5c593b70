"""A Locust master in web mode driven as the cluster bench drives it: one run per POST /swarm,
each run's result from GET /swarmbench/latency (latency_route), rate and user class per run."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from swarmbench.cluster.master_api import RemoteMaster, run_locust
from swarmbench.generators.runner import by_name
from swarmbench.generators.spec import LoadSpec
from swarmbench.targets import process
from swarmbench.util import paths, processes

START_TIMEOUT_S = 30.0


@pytest.fixture
def master(tmp_path: Path) -> Iterator[RemoteMaster]:
    """`locust --processes 2` in web mode with the class picker, as the master role runs it."""
    web, zmq = processes.free_port(), processes.free_port()
    cmd = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(paths.ROOT / "locustfiles/http.py"),
    ]
    cmd += ["--class-picker", "--web-host", "127.0.0.1", "--web-port", str(web)]
    cmd += ["--metrics-bind", "", "--processes", "2", "--loglevel", "WARNING"]
    cmd += ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(zmq)]
    cmd += ["--master-host", "127.0.0.1", "--master-port", str(zmq)]
    with (tmp_path / "master.log").open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
    remote = RemoteMaster(f"http://127.0.0.1:{web}", expected_workers=2)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                remote.stats()
                break
            except (urllib.error.URLError, OSError):
                assert proc.poll() is None, (tmp_path / "master.log").read_text()[-2000:]
                assert time.monotonic() < deadline, "the master's web UI did not answer"
                time.sleep(0.2)
        yield remote
    finally:
        proc.terminate()  # the forked workers follow their master
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_each_run_is_its_own_with_rate_and_user_class(
    master: RemoteMaster,
    target_server: Callable[..., process.RunningTarget],
    tmp_path: Path,
) -> None:
    server = target_server("rust-std")
    locust = by_name("locust")
    labels = {"system": "rust-std", "run_id": "t"}
    closed = LoadSpec(server.url, keepalive=True, connections=4, duration_s=2, **labels)
    first = run_locust(master, locust, closed, tmp_path / "first")
    paced = LoadSpec(server.url, keepalive=False, connections=4, duration_s=2, rate=100, **labels)
    second = run_locust(master, locust, paced, tmp_path / "second")

    for run in (first, second):
        workers = run.workers
        assert len(workers) == 2, workers
        assert all(w["requests"] > 0 for w in workers.values()), workers
        assert sum(w["requests"] for w in workers.values()) == run.requests
    assert first.failures == 0 and second.failures == 0
    # The second run starts from zero and is paced: ~100/s for 2 s, not the first run's total.
    assert second.requests < first.requests
    assert 0 < second.requests <= 260, second.requests  # closed loop would be thousands
    latency = (tmp_path / "second" / "locust-latency.json").read_text()
    assert '"rate": 100.0' in latency and '"user_class": "CloseUser"' in latency


def test_a_run_left_going_is_stopped_before_the_next(
    master: RemoteMaster,
    target_server: Callable[..., process.RunningTarget],
    tmp_path: Path,
) -> None:
    """A SIGKILLed bench cannot stop the run it asked for: the next bench stops it first, and
    its own result counts only its own run."""
    server = target_server("rust-std")
    master.wait_ready()
    form = [("user_count", "2"), ("spawn_rate", "2"), ("host", server.url)]
    form += [("user_classes", "KeepAliveUser"), ("run_time", "10m")]
    assert master._post("/swarm", form).get("success")
    deadline = time.monotonic() + START_TIMEOUT_S
    while master.stats().get("state") not in ("spawning", "running"):
        assert time.monotonic() < deadline, "the left run never started"
        time.sleep(0.2)

    spec = LoadSpec(server.url, keepalive=False, connections=2, duration_s=2, rate=50,
                    system="rust-std", run_id="t")  # fmt: skip
    run = run_locust(master, by_name("locust"), spec, tmp_path / "next")
    assert master.stats().get("state") == "stopped"
    # Its own 2 s at 50/s, not the 10-minute run's keep-alive flood added in.
    assert 0 < run.requests <= 130, run.requests
    assert '"user_class": "CloseUser"' in (tmp_path / "next" / "locust-latency.json").read_text()


#: A bench's run on the master, in a process of its own that the test kills.
_BENCH_RUN = """
import sys
from pathlib import Path
from swarmbench.cluster.master_api import RemoteMaster, run_locust
from swarmbench.generators.runner import by_name
from swarmbench.generators.spec import LoadSpec
url, target, lease, out = sys.argv[1:]
master = RemoteMaster(url, expected_workers=2, run_lease_s=float(lease))
spec = LoadSpec(target, keepalive=True, connections=2, duration_s=600, rate=50,
                system="rust-std", run_id="killed")
run_locust(master, by_name("locust"), spec, Path(out))
"""


def test_a_killed_benchs_run_stops_when_its_lease_runs_out(
    master: RemoteMaster,
    target_server: Callable[..., process.RunningTarget],
    tmp_path: Path,
) -> None:
    """SIGKILL stops a bench before it can stop the 10-minute run it asked the master for: the
    master stops it once nobody has asked for its result for the run's lease (3 s here)."""
    server = target_server("rust-std")
    bench = subprocess.Popen(
        [sys.executable, "-c", _BENCH_RUN, master.url, server.url, "3", str(tmp_path / "run")],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while master.stats().get("state") not in ("spawning", "running"):
            assert bench.poll() is None, bench.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the bench's run never started"
            time.sleep(0.2)
        time.sleep(6)  # twice the lease: the bench, asking every 0.5 s, keeps its run going
        assert master.stats().get("state") == "running"
        assert bench.poll() is None
    finally:
        bench.kill()
        bench.wait()
    deadline = time.monotonic() + 30
    while master.stats().get("state") != "stopped":
        assert time.monotonic() < deadline, "the killed bench's run still goes"
        time.sleep(0.2)
    # The next run is not leased by the last one's form: a run without its own lease goes on.
    form = [("user_count", "2"), ("spawn_rate", "2"), ("host", server.url)]
    form += [("user_classes", "KeepAliveUser"), ("run_time", "10m"), ("rate", "20")]
    assert master._post("/swarm", form).get("success")
    time.sleep(5)
    assert master.stats().get("state") == "running"
    master.stop()
