"""A real short run: node-std, its collector, Locust master + 1 worker, a real Prometheus.

One module-scoped run (about 30 s) serves every test: the series and their labels, every
dashboard query (node_exporter runs too, labelled as a worker host, as on a cluster), the
failure reasons, and the CPU cost per request against a direct psutil reading.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from swarmbench.targets import process, registry
from swarmbench.telemetry import dashboards, metrics
from swarmbench.telemetry.prometheus import LocalPrometheus
from swarmbench.telemetry.queries import window_cost
from swarmbench.util import paths, processes

SYSTEM = "node-std"
RUN_ID = "it-telemetry"
LOCUSTFILE = paths.ROOT / "locustfiles" / "http.py"
LOCUST = Path(sys.executable).with_name("locust")
LOAD_S = 20
RATE = 2000
WAIT_S = 30.0
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
NODE_HOST = "gen-local"


@dataclass
class Run:
    prom: LocalPrometheus
    start: float
    end: float
    direct_cpu_s: float
    locust_result: dict[str, Any]


def tree_cpu_seconds(pid: int) -> float:
    """The server's process tree read directly, the way an operator would check it."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    total = 0.0
    for proc in procs:
        t = proc.cpu_times()
        total += t.user + t.system + t.children_user + t.children_system
    return total


def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def _locust(*args: str, log: Path, cpus: list[int]) -> subprocess.Popen[bytes]:
    pin = ["taskset", "-c", ",".join(map(str, cpus))] if len(os.sched_getaffinity(0)) > 1 else []
    with log.open("wb") as out:
        return subprocess.Popen(
            [*pin, str(LOCUST), "-f", str(LOCUSTFILE), *args], stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    if not LOCUSTFILE.exists():
        pytest.skip("locustfiles/http.py is not there yet")
    target = registry.get(SYSTEM)
    if not target.is_built():
        pytest.skip(f"{SYSTEM} is not built (`swarmbench targets build {SYSTEM}`)")
    run_dir = tmp_path_factory.mktemp("telemetry-run")
    cpus = sorted(os.sched_getaffinity(0))
    server_cpus, load_cpus = cpus[-1:], cpus[:1]
    procs: list[subprocess.Popen[bytes]] = []
    prom = LocalPrometheus(run_dir, scrape_interval_s=1.0)
    server = process.start(target, processes.free_port(), 1, cpus=server_cpus)
    try:
        collector_port, metrics_port = processes.free_port(), processes.free_port()
        master_port = processes.free_port()
        cmd = [sys.executable, "-m", "swarmbench", "collector", "--system", SYSTEM, "--pid"]
        cmd += [str(server.pid), "--bind", f"127.0.0.1:{collector_port}"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        node_port = processes.free_port()
        node = [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{node_port}"]
        node += ["--no-collector.systemd"]
        procs.append(subprocess.Popen(node, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        prom.start()
        prom.set_targets("swarmbench_target", [f"127.0.0.1:{collector_port}"], {})
        prom.set_targets("swarmbench_locust", [f"127.0.0.1:{metrics_port}"], {})
        # As the cluster's monitor role labels a worker host's node_exporter.
        prom.set_targets("node", [f"127.0.0.1:{node_port}"], {"host": NODE_HOST, "role": "workers"})
        wait_until(lambda: prom.query(f'swarmbench_target_up{{system="{SYSTEM}"}} == 1'), "up")
        time.sleep(1.5)  # the idle server sampled before the window opens
        start, cpu_before = time.time(), tree_cpu_seconds(server.pid)
        latency_json = run_dir / "latency.json"
        master = _locust(
            "--master", "--headless", "-u", "20", "-r", "20", "-t", f"{LOAD_S}s",
            "--expect-workers", "1", "--master-bind-port", str(master_port),
            "--metrics-bind", f"127.0.0.1:{metrics_port}", "--run-id", RUN_ID,
            "--system", SYSTEM, "--rate", str(RATE), "--host", server.url,
            "--latency-json", str(latency_json), "KeepAliveUser",
            log=run_dir / "master.log", cpus=load_cpus,
        )  # fmt: skip
        procs.append(master)
        procs.append(
            _locust(
                "--worker",
                "--master-port",
                str(master_port),
                "KeepAliveUser",
                log=run_dir / "worker.log",
                cpus=load_cpus,
            )
        )
        master.wait(LOAD_S + WAIT_S)
        time.sleep(0.5)
        end, cpu_after = time.time(), tree_cpu_seconds(server.pid)
        time.sleep(2.5)  # Prometheus scrapes the now idle server once more after `end`
        result = json.loads(latency_json.read_text())
        yield Run(prom, start, end, cpu_after - cpu_before, result)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        prom.stop()
        server.stop()


def test_series_exist_with_the_right_labels(run: Run) -> None:
    at = run.end
    look = "[60s]"
    for name in (
        "swarmbench_target_cpu_seconds_total",
        "swarmbench_target_resident_memory_bytes",
        "swarmbench_target_threads",
        "swarmbench_target_open_fds",
    ):
        (series,) = run.prom.query(f"last_over_time({name}{look})", at=at)
        assert series["metric"]["system"] == SYSTEM and series["metric"]["host"], name
    for name in ("swarmbench_requests_total", "swarmbench_users", "swarmbench_workers"):
        assert run.prom.query(f"last_over_time({name}{look})", at=at), name
    (info,) = run.prom.query(f"last_over_time(swarmbench_run_info{look})", at=at)
    assert {k: info["metric"][k] for k in ("run", "system", "keepalive")} == {
        "run": RUN_ID,
        "system": SYSTEM,
        "keepalive": "on",
    }
    (workers,) = run.prom.query(f"max_over_time(swarmbench_workers{look})", at=at)
    assert float(workers["value"][1]) == 1
    buckets = run.prom.query(f"last_over_time(swarmbench_request_duration_seconds_bucket{look})")
    assert len(buckets) >= 25


def test_every_dashboard_query_returns_data(run: Run) -> None:
    empty = []
    for panel in dashboards.PANELS + dashboards.CLUSTER_PANELS:
        for expr in panel.exprs:
            filled = dashboards.substitute(expr, system=SYSTEM, run=RUN_ID)
            series = run.prom.query_range(filled, run.start, run.end, 1.0)
            points = [v for s in series for _, v in s["values"] if v not in ("NaN", "+Inf")]
            if not points:
                empty.append(f"{panel.title}: {filled}")
    assert not empty, "queries without data:\n" + "\n".join(empty)


def test_cpu_per_request_agrees_with_psutil(run: Run) -> None:
    cost = window_cost(run.prom, SYSTEM, run.start, run.end)
    assert cost is not None
    assert cost.requests == run.locust_result["requests"] > RATE * LOAD_S // 2
    direct = run.direct_cpu_s * 1e6 / run.locust_result["requests"]
    from_prom = cost.cpu_us_per_request
    print(f"CPU us/request: Prometheus {from_prom:.2f}, psutil {direct:.2f}")
    assert from_prom == pytest.approx(direct, rel=0.10)
    # The recording rule over the run's last 12 s of steady load (Locust exits at `end`; the
    # first seconds are ramp-up, where Locust's 3 s worker reports lag the server's CPU).
    rule_name = metrics.SYSTEM_CPU_PER_REQUEST_RATIO
    rule = run.prom.query(
        f'1e6 * avg_over_time({rule_name}{{system="{SYSTEM}"}}[12s])', at=run.end - 0.5
    )
    assert rule, "the recording rule has no value mid-run"
    print(f"recording rule, mean of the last 12 s of load: {float(rule[0]['value'][1]):.2f}")
    assert float(rule[0]["value"][1]) == pytest.approx(direct, rel=0.5)


def test_failures_carry_only_the_fixed_reasons(run: Run) -> None:
    found = run.prom.query(f"last_over_time({metrics.SYSTEM_FAILURES_RATE}[60s])", at=run.end)
    reasons = {series["metric"]["reason"] for series in found}
    assert reasons == set(metrics.FAILURE_REASONS), reasons


def test_generator_host_cpu_comes_from_node_exporter(run: Run) -> None:
    (panel,) = [p for p in dashboards.CLUSTER_PANELS if p.title == "Generator hosts CPU"]
    series = run.prom.query_range(panel.exprs[0], run.start, run.end, 1.0)
    assert [s["metric"]["host"] for s in series] == [NODE_HOST]
    busy = [float(v) for _, v in series[0]["values"]]
    assert busy and all(0.0 <= b <= 1.0 for b in busy) and max(busy) > 0
