"""`swarmbench bench --inventory`: the matrix over the five namespaced hosts, and its bad input.

Shares the session's hosts: runs after test_cluster_states.py (conftest.ORDER), which leaves
every service stopped. Bad input first: those must leave the hosts as they were. Then the
README's path (`cluster_bench`: the bench provisions, then runs), whose cluster the stopped
benches use as it is left (--no-provision); the user's own server and locustfile provision
again, as they need.
"""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import hosts
import pytest
from fakes.owned import OWNER_VAR, kill_owned, owned_after

from swarmbench.cluster.master_api import RUN_LEASE_S

pytestmark = pytest.mark.cluster

SWARMBENCH = [sys.executable, "-m", "swarmbench"]
#: A ceiling: provisioning, system switches, rounds, the same traffic. Beside two other clusters
#: (load average 15-19 on 2 cores) provisioning alone took 386 s and the bench passed 720 s.
BENCH_TIMEOUT_S = 1080
MONITOR, TARGET, MASTER = "monitor1", "target1", "master1"


def _bench(
    cluster: hosts.Cluster, inventory: Path, out: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = hosts.ansible_env(cluster)
    env["PYTHONPATH"] = str(hosts.ROOT)
    cmd = [*SWARMBENCH, "bench", "--inventory", str(inventory), "--out", str(out), *args]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=BENCH_TIMEOUT_S,
        cwd=hosts.ROOT,
        env=env,
        check=False,
    )


def _services_running(cluster: hosts.Cluster) -> dict[str, set[str]]:
    return {name: cluster.services(name) for name in cluster.hosts}


def _one_line_exit_2(proc: subprocess.CompletedProcess[str], expected: str) -> None:
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("swarmbench:")]
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1 and expected in lines[0], proc.stderr[-3000:]


def test_bench_inventory_missing_a_group(cluster: hosts.Cluster, tmp_path: Path) -> None:
    before = _services_running(cluster)
    groups = {k: v for k, v in hosts.GROUPS.items() if k != "targets"}
    proc = _bench(cluster, hosts.write_inventory(cluster, groups=groups), tmp_path / "out")
    _one_line_exit_2(proc, "inventory group 'targets' missing or empty")
    assert _services_running(cluster) == before


def test_bench_host_not_answering_ssh(cluster: hosts.Cluster, tmp_path: Path) -> None:
    before = _services_running(cluster)
    inventory = hosts.write_inventory(cluster, extra_hosts={"ghost": hosts.GHOST_ADDRESS})
    with inventory.open("a") as extra:
        extra.write("common_reachable_timeout=5\n")
    proc = _bench(cluster, inventory, tmp_path / "out", "--systems", "rust-std", "--duration", "2s")
    _one_line_exit_2(proc, f"host ghost ({hosts.GHOST_ADDRESS}) does not answer SSH")
    assert _services_running(cluster) == before, "a host that answered was changed"


def _prometheus(cluster: hosts.Cluster, query: str) -> list[dict]:
    address = cluster.hosts[MONITOR].address
    url = f"http://{address}:9090/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]["result"]


@dataclass
class ClusterBench:
    out: Path
    proc: subprocess.CompletedProcess[str]
    #: the systems in the order their rounds ran: the last one's server is left up
    order: list[str]


@pytest.fixture(scope="module")
def cluster_bench(cluster: hosts.Cluster, tmp_path_factory: pytest.TempPathFactory) -> ClusterBench:
    """The README's path, once: `swarmbench bench --inventory` provisions the stopped cluster,
    then runs two systems on it."""
    out = tmp_path_factory.mktemp("cluster-bench") / "run"
    started = time.monotonic()
    proc = _bench(
        cluster, hosts.write_inventory(cluster), out,
        "--systems", "rust-std,node-std", "--keepalive", "on", "--generators", "locust,wrk",
        "--duration", "2s", "--users", "8", "--rounds", "2", "--same-traffic", "50",
    )  # fmt: skip
    print(f"\ncluster bench: {time.monotonic() - started:.1f} s\n{proc.stderr[-1500:]}")
    order = [
        line.split(" keep-alive")[0].split()[-1]
        for line in proc.stderr.splitlines()
        if ", round " in line
    ]
    return ClusterBench(out, proc, order)


# The bench's own ceiling rules, not pytest's 600 s.
@pytest.mark.timeout(BENCH_TIMEOUT_S + 60)
def test_bench_over_the_cluster(cluster: hosts.Cluster, cluster_bench: ClusterBench) -> None:
    out, proc, order = cluster_bench.out, cluster_bench.proc, cluster_bench.order
    assert proc.returncode == 0, proc.stderr[-4000:]
    # test_cluster_states.py's last run turned the firewall off: provisioning loads it again.
    for name in hosts.INVENTORY_HOSTS:
        assert any(word.startswith("swarmbench_") for word in cluster.firewall(name)), name
    run = json.loads((out / "run.json").read_text())
    assert run["backend"] == "ansible"
    assert [h["host"] for h in run["hosts"]["workers"]] == hosts.GROUPS["workers"]
    assert (out / "report.md").exists()
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert len(rows) == 4 + 2, rows  # and each system at 50% of the slowest, Locust-paced
    assert all(r["rounds"] == "2" for r in rows), rows
    # One system at a time on the target host: a system's rounds run back to back.
    assert order[:4] == [order[0]] * 4, order
    for cell_file in sorted((out / "cells").glob("*.json")):
        cell = json.loads(cell_file.read_text())
        assert cell["verdict"] in ("ok", "generator-bound"), (cell_file.name, cell["verdict"])
        assert cell["requests"] > 0
        assert cell["prometheus"]["available"], (cell_file.name, cell["prometheus"])
        assert cell["prometheus"]["target_cpu_seconds"] > 0, cell_file.name
        assert cell["target_cpu_seconds"] > 0, cell_file.name
        if cell["generator"] != "locust":
            continue
        # One generator_details per round: each round's workers add up to the cell's requests.
        counts = []
        for details in (e["generator_details"] for e in cell["events"] if "generator_details" in e):
            workers = details["workers"]
            hosts_seen = {wid.split("_")[0] for wid in workers}
            assert hosts_seen == set(hosts.GROUPS["workers"]), workers
            assert all(w["requests"] > 0 for w in workers.values()), (
                f"a worker sent nothing: {workers}"
            )
            counts += [w["requests"] for w in workers.values()]
        print(f"{cell_file.name}: {cell['requests']} requests = {' + '.join(map(str, counts))}")
        assert len(counts) == len(hosts.GROUPS["workers"]) * cell["rounds_planned"], counts
        assert sum(counts) == cell["requests"]
    cpu = _prometheus(cluster, f'swarmbench_target_cpu_seconds_total{{host="{TARGET}"}}')
    assert cpu, "Prometheus has no swarmbench_target_cpu_seconds_total for the target"
    requests = _prometheus(cluster, 'swarmbench_requests_total{job="swarmbench_locust"} > 0')
    assert requests, "Prometheus has no swarmbench_requests_total from the master"


def _tool_on(cluster: hosts.Cluster, host: str, tool: str) -> bool:
    return cluster.ssh(host, f"pgrep -x {tool}", timeout=30).returncode == 0


@pytest.fixture(scope="module")
def left_up(cluster_bench: ClusterBench) -> str:
    """The system `cluster_bench` left serving on the provisioned cluster, for the benches run
    with --no-provision."""
    assert cluster_bench.proc.returncode == 0, "the README's cluster bench failed: see its test"
    return cluster_bench.order[-1]


def _ansible_logs(out: Path) -> list[str]:
    """The playbook runs a bench made, by name (provision, switch-SYSTEM; not the tunnel)."""
    names = (p.stem for p in (out / "ansible").glob("*.log"))
    return sorted(n for n in names if n == "provision" or n.startswith("switch-"))


@pytest.mark.parametrize("tool", ["wrk", "ab"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_a_stopped_bench_leaves_no_load_tool_on_the_worker(
    cluster: hosts.Cluster, left_up: str, tmp_path: Path, sig: signal.Signals, tool: str
) -> None:
    """Ctrl-C, or SIGKILL (the reaper stops the local ssh), during a wrk or ab cell run over
    SSH on the first worker host: the tool there stops too, and nothing of the bench runs
    here."""
    worker = hosts.GROUPS["workers"][0]
    token = f"cluster-{tool}-{sig.name}-{tmp_path}"
    env = {**hosts.ansible_env(cluster), "PYTHONPATH": str(hosts.ROOT), OWNER_VAR: token}
    cmd = [*SWARMBENCH, "bench", "--inventory", str(hosts.write_inventory(cluster))]
    cmd += ["--out", str(tmp_path / "run"), "--systems", left_up, "--keepalive", "on"]
    cmd += ["--generators", tool, "--duration", "2m", "--warmup", "1s", "--no-provision"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=hosts.ROOT, env=env
    )
    try:
        deadline = time.monotonic() + BENCH_TIMEOUT_S
        while not _tool_on(cluster, worker, tool):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, f"{tool} never ran on the worker host"
            time.sleep(1)
        proc.send_signal(sig)
        proc.communicate(timeout=60)
        deadline = time.monotonic() + 30
        while _tool_on(cluster, worker, tool) and time.monotonic() < deadline:
            time.sleep(1)
        assert not _tool_on(cluster, worker, tool), f"{tool} still runs on the worker host"
        assert not owned_after(token, 20)
        assert _ansible_logs(tmp_path / "run") == []  # its system was up: no playbook at all
    finally:
        kill_owned(token)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _master_state(cluster: hosts.Cluster) -> str | None:
    """The Locust master's state from its web API, logged in (None: no answer)."""
    proc = hosts.master_web(cluster, "/stats/requests", master=MASTER)
    return json.loads(proc.stdout).get("state") if proc.returncode == 0 else None


#: How long a Locust run may outlive a SIGKILLed bench: the bench's lease (master_api), then
#: the master's check of it and its stop (the workers' final reports), on a busy machine.
LEASE_END_S = RUN_LEASE_S + 30


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_a_stopped_bench_stops_the_masters_locust_run(
    cluster: hosts.Cluster, left_up: str, tmp_path: Path, sig: signal.Signals
) -> None:
    """Ctrl-C during a Locust cell, which the long-running master drives on the worker hosts:
    the bench stops that run through the master's API before it goes (the master and its
    workers are services and stay up, idle), and nothing of the bench runs here. A SIGKILLed
    bench cannot: the master stops the run once its lease is over (engine.run_lease).

    The bench wants the system `cluster_bench` did not leave up: without provisioning it
    still switches the target, once."""
    wanted = next(system for system in ("rust-std", "node-std") if system != left_up)
    token = f"cluster-locust-{sig.name}-{tmp_path}"
    env = {**hosts.ansible_env(cluster), "PYTHONPATH": str(hosts.ROOT), OWNER_VAR: token}
    cmd = [*SWARMBENCH, "bench", "--inventory", str(hosts.write_inventory(cluster))]
    cmd += ["--out", str(tmp_path / "run"), "--systems", wanted, "--keepalive", "on"]
    cmd += ["--generators", "locust", "--duration", "2m", "--warmup", "1s", "--users", "4"]
    cmd += ["--no-provision"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=hosts.ROOT, env=env
    )
    try:
        deadline = time.monotonic() + BENCH_TIMEOUT_S
        while _master_state(cluster) not in ("spawning", "running"):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the master never ran the cell"
            time.sleep(1)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), stderr
        assert "Traceback" not in stderr
        deadline = time.monotonic() + (30 if sig == signal.SIGINT else LEASE_END_S)
        while _master_state(cluster) in ("spawning", "running") and time.monotonic() < deadline:
            time.sleep(1)
        assert _master_state(cluster) == "stopped"
        assert not owned_after(token, 20)
        # No provisioning; a switch from `left_up`, which SIGINT's run (the first) finds up.
        switched = [f"switch-{wanted}"]
        allowed = [switched] if sig == signal.SIGINT else [[], switched]
        assert _ansible_logs(tmp_path / "run") in allowed
    finally:
        kill_owned(token)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


#: The user's locustfile: its class runs on the cluster's workers, loaded beside http.py.
USER_LOCUSTFILE = '''
from swarmbench.engine.users import KeepAliveUser


class ApiUser(KeepAliveUser):
    """The team's API client, as swarmbench's keep-alive user."""
'''


def test_own_server_and_locustfile_over_the_cluster(cluster: hosts.Cluster, tmp_path: Path) -> None:
    """deploy/examples' ASGI app (--targets) with the user's class (--locustfile) on both
    workers; a missed threshold exits 1; the worker hosts' CPU reaches Prometheus by role.
    (Beside rust-std locally, in test_own_server.py: here one system, one playbook run.)"""
    out = tmp_path / "run"
    locustfile = tmp_path / "api_locustfile.py"
    locustfile.write_text(USER_LOCUSTFILE)
    started = time.monotonic()
    proc = _bench(
        cluster, hosts.write_inventory(cluster), out,
        "--targets", str(hosts.ROOT / "deploy" / "examples" / "targets.toml"),
        "--systems", "asgi-hello", "--keepalive", "on", "--generators", "locust",
        "--locustfile", str(locustfile), "--user-class", "ApiUser",
        "--duration", "4s", "--users", "8", "--threshold", "asgi-hello:rps>1e9",
        "--rounds", "1", "--same-traffic", "off",  # this test is about the user's parts
    )  # fmt: skip
    print(
        f"\nown server over the cluster: {time.monotonic() - started:.1f} s\n{proc.stderr[-1500:]}"
    )
    assert proc.returncode == 1, proc.stderr[-4000:]
    missed = [line.strip() for line in proc.stderr.splitlines() if "missed:" in line]
    assert len(missed) == 1 and missed[0].startswith("missed: asgi-hello, keep-alive on, locust")
    cell = json.loads((out / "cells" / "asgi-hello.keepalive-on.locust.json").read_text())
    assert cell["verdict"] in ("ok", "generator-bound"), cell["verdict"]
    assert cell["requests"] > 0 and cell["conditions"]["user_class"] == "ApiUser"
    assert cell["prometheus"]["available"] and cell["target_cpu_seconds"] > 0
    details = next(e["generator_details"] for e in cell["events"] if "generator_details" in e)
    assert {wid.split("_")[0] for wid in details["workers"]} == set(hosts.GROUPS["workers"])
    checks = {c["name"]: c for c in cell["verification"]}
    assert checks["body"]["ok"] and checks["content-type application/json"]["ok"]
    ran = cluster.ssh(MASTER, "cat /opt/swarmbench/services/master.sh").stdout
    assert "/opt/swarmbench/locustfiles/user/api_locustfile.py," in ran, ran
    busy = _prometheus(cluster, 'host:node_cpu_utilisation:rate10s{role="workers"}')
    assert {s["metric"]["host"] for s in busy} == set(hosts.GROUPS["workers"]), busy


def test_bench_unknown_system(cluster: hosts.Cluster, tmp_path: Path) -> None:
    before = _services_running(cluster)
    inventory = hosts.write_inventory(cluster)
    proc = _bench(cluster, inventory, tmp_path / "out", "--systems", "rust-std,no-such-server")
    _one_line_exit_2(proc, "unknown system 'no-such-server'")
    assert _services_running(cluster) == before
