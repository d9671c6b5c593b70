"""playbooks/cluster.yml on five namespaced SSH hosts: bad input, provisioning, idempotence,
a distributed Locust run, Prometheus, switching the target system.

The tests run in file order on one set of hosts: the bad-input tests first, while the hosts are
fresh, so they can check that nothing was installed or started anywhere.
"""

from __future__ import annotations

import collections
import json
import re
import time
import urllib.parse
import urllib.request

import hosts
import pytest

pytestmark = pytest.mark.cluster

MASTER, TARGET, MONITOR = "master1", "target1", "monitor1"
TARGET_PORT = 8080
PROMETHEUS_PORT = 9090
RECAP = re.compile(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _output(proc: object) -> str:
    return f"{getattr(proc, 'stdout', '')}\n{getattr(proc, 'stderr', '')}"


def _recap(text: str) -> dict[str, tuple[int, int, int]]:
    return {m[1]: (int(m[2]), int(m[3]), int(m[4])) for m in RECAP.finditer(text)}


def _changed_tasks(text: str) -> list[str]:
    """Each task a run reported changed, with the host and item: what a failed idempotence
    check needs to say (a recap's counts do not name them)."""
    task, changed = "", []
    for line in text.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK [") :].split("]", 1)[0]
        elif line.startswith("changed: ["):
            changed.append(f"{task}: {line.strip()}")
    return changed


def _assert_untouched(cluster: hosts.Cluster) -> None:
    """Nothing installed, nothing started: the hosts are as the harness made them."""
    for name in cluster.hosts:
        probe = cluster.ssh(name, "ls -d /opt/swarmbench /run/swarmbench /var/log/swarmbench 2>&1")
        assert "No such file" in probe.stdout and probe.stdout.count("No such file") == 3, (
            f"{name} was touched: {probe.stdout}"
        )


def test_inventory_missing_a_group_stops_naming_it(
    cluster: hosts.Cluster, ansible: hosts.Ansible
) -> None:
    groups = {k: v for k, v in hosts.GROUPS.items() if k != "monitor"}
    proc, _ = ansible.playbook(hosts.write_inventory(cluster, groups=groups))
    assert proc.returncode != 0
    assert "inventory group 'monitor' is missing or empty" in _output(proc)
    _assert_untouched(cluster)


def test_unknown_system_stops_naming_it(cluster: hosts.Cluster, ansible: hosts.Ansible) -> None:
    proc, _ = ansible.playbook(hosts.write_inventory(cluster), "-e", "system=no-such-server")
    assert proc.returncode != 0
    assert "unknown system 'no-such-server'" in _output(proc)
    _assert_untouched(cluster)


def test_host_not_answering_ssh_stops_naming_it(
    cluster: hosts.Cluster, ansible: hosts.Ansible
) -> None:
    # GHOST_ADDRESS is on the bridge's network but nothing answers there.
    inventory = hosts.write_inventory(cluster, extra_hosts={"ghost": hosts.GHOST_ADDRESS})
    proc, _ = ansible.playbook(inventory, "-e", "common_reachable_timeout=5")
    assert proc.returncode != 0
    assert f"host ghost ({hosts.GHOST_ADDRESS}) does not answer SSH" in _output(proc)
    for name in cluster.hosts:  # the hosts that answered are not blamed
        assert f"host {name} (" not in _output(proc), _output(proc)[-3000:]
    _assert_untouched(cluster)


# Two full playbook runs, each bounded by its own timeout: pytest's 600 s is one run's bound.
@pytest.mark.timeout(hosts.TWO_PLAYBOOK_RUNS_S)
def test_provision_twice_second_run_changes_nothing(
    cluster: hosts.Cluster, ansible: hosts.Ansible
) -> None:
    inventory = hosts.write_inventory(cluster)
    first, seconds = ansible.playbook(inventory)
    count = sum(len(names) for names in hosts.GROUPS.values())
    print(f"\nprovisioning {count} fresh hosts took {seconds:.1f} s (goal < 180 s)")
    assert first.returncode == 0, _output(first)[-6000:]
    second, seconds = ansible.playbook(inventory)
    print(f"second, unchanged run took {seconds:.1f} s")
    assert second.returncode == 0, _output(second)[-6000:]
    recap = _recap(second.stdout)
    inventory_hosts = {name for group in hosts.GROUPS.values() for name in group}
    assert set(recap) >= inventory_hosts, second.stdout[-3000:]
    changed = {host: counts for host, counts in recap.items() if counts != (0, 0, 0)}
    tasks = "\n".join(_changed_tasks(second.stdout))
    assert changed == {}, f"second run changed something: {changed}\n{tasks}"


def test_systemd_hosts_run_their_services_as_units(cluster: hosts.Cluster) -> None:
    on_systemd = sorted(name for name, host in cluster.hosts.items() if host.systemd)
    if not on_systemd:
        pytest.skip(f"no systemd host: {hosts.systemd_unavailable()}")
    for name in on_systemd:
        probe = cluster.ssh(name, "cat /proc/1/comm; ls /run/swarmbench")
        assert probe.stdout.split() == ["systemd"], f"{name}: {probe.stdout}"  # and no pidfiles
    if "worker2" in on_systemd:  # the same role on either service manager
        assert cluster.services("worker2") == cluster.services("worker1") != set()
    if TARGET in on_systemd:
        assert {"target", "collector"} <= cluster.services(TARGET)


def _master_api(cluster: hosts.Cluster, method: str, path: str, data: str = "") -> dict:
    """Locust's web API on the master, logged in (hosts.master_web)."""
    proc = hosts.master_web(cluster, path, data if method == "POST" else None, MASTER)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _prometheus(cluster: hosts.Cluster, query: str) -> list[dict]:
    address = cluster.hosts[MONITOR].address
    url = f"http://{address}:{PROMETHEUS_PORT}/api/v1/query?" + urllib.parse.urlencode(
        {"query": query}
    )
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]["result"]


def _wait_for_series(cluster: hosts.Cluster, query: str, seconds: float = 20) -> list[dict]:
    deadline = time.monotonic() + seconds
    while True:
        result = _prometheus(cluster, query)
        if result or time.monotonic() > deadline:
            return result
        time.sleep(1)


def test_distributed_run_reaches_the_target_and_prometheus(cluster: hosts.Cluster) -> None:
    target = f"http://{cluster.hosts[TARGET].address}:{TARGET_PORT}"
    form = urllib.parse.urlencode(
        {"user_count": 4, "spawn_rate": 4, "host": target, "run_time": "6s"}
    )
    started = _master_api(cluster, "POST", "/swarm", form)
    assert started["success"], started
    time.sleep(3)
    during = _master_api(cluster, "GET", "/stats/requests")
    busy = {w["id"].split("_")[0]: w["user_count"] for w in during["workers"]}
    assert busy.keys() == set(hosts.GROUPS["workers"]), during["workers"]
    assert all(users > 0 for users in busy.values()), f"a worker ran no users: {busy}"
    deadline = time.monotonic() + 20
    while (after := _master_api(cluster, "GET", "/stats/requests"))["state"] != "stopped":
        assert time.monotonic() < deadline, f"the run did not stop: {after['state']}"
        time.sleep(1)
    total = next(s for s in after["stats"] if s["name"] == "Aggregated")
    print(f"\ndistributed run: {total['num_requests']} requests to {target} from {busy}")
    assert total["num_requests"] > 0
    assert total["num_failures"] == 0, after.get("errors")

    requests = _wait_for_series(cluster, "swarmbench_requests_total > 0")
    assert requests, "Prometheus has no swarmbench_requests_total from the master"
    assert {r["metric"].get("job") for r in requests} == {"swarmbench_locust"}
    cpu = _wait_for_series(cluster, f'swarmbench_target_cpu_seconds_total{{host="{TARGET}"}} > 0')
    assert cpu, "Prometheus has no swarmbench_target_cpu_seconds_total for the target"
    assert cpu[0]["metric"]["system"] == "rust-std"


def _locust_processes(cluster: hosts.Cluster, name: str) -> list[str]:
    # The host has its own PID namespace: only its own processes; [l] keeps grep from matching.
    probe = cluster.ssh(name, "ps -eo pid=,args= | grep '[l]ocust' || true")
    return probe.stdout.strip().splitlines()


def _master_workers(cluster: hosts.Cluster, want: dict[str, int]) -> dict[str, int]:
    """Connected workers per host, once they equal `want` (or as they are after 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        seen = collections.Counter(
            w["id"].split("_")[0]
            for w in _master_api(cluster, "GET", "/stats/requests")["workers"]
            if w["state"] != "missing"
        )
        if dict(seen) == want or time.monotonic() > deadline:
            return dict(seen)
        time.sleep(0.5)


def test_stopping_the_worker_hosts_stops_all_their_workers(
    cluster: hosts.Cluster, ansible: hosts.Ansible
) -> None:
    # `locust --worker --processes N` forks its workers; its parent dies on TERM alone, so a
    # stop that signals only the PID leaves the forked workers connected. The master keeps
    # running (a master that quits takes its workers with it and would hide that), and the two
    # worker hosts stop through both service managers where one of them runs systemd.
    workers = hosts.GROUPS["workers"]
    inventory = hosts.write_inventory(cluster)
    with inventory.open("a") as more:
        more.write("\n[stopping]\n" + "".join(f"{n} cluster_state=stopped\n" for n in workers))
    proc, _ = ansible.playbook(inventory)
    assert proc.returncode == 0, _output(proc)[-6000:]
    for name in workers:
        assert _locust_processes(cluster, name) == [], name
    assert _master_workers(cluster, {}) == {}

    proc, _ = ansible.playbook(hosts.write_inventory(cluster))
    assert proc.returncode == 0, _output(proc)[-6000:]
    one_each = dict.fromkeys(workers, 1)
    assert _master_workers(cluster, one_each) == one_each
    for name in workers:  # workers_processes=1: the parent and the worker it forked
        assert len(_locust_processes(cluster, name)) == 2, _locust_processes(cluster, name)


def test_switching_the_system_restarts_only_the_target(
    cluster: hosts.Cluster, ansible: hosts.Ansible
) -> None:
    inventory = hosts.write_inventory(cluster)
    proc, seconds = ansible.playbook(
        inventory, "-e", "system=node-std", "--limit", f"localhost,{TARGET}"
    )
    print(f"\nswitching to node-std took {seconds:.1f} s")
    assert proc.returncode == 0, _output(proc)[-6000:]
    address = cluster.hosts[TARGET].address
    probe = cluster.ssh(
        TARGET,
        f"curl -si --max-time 5 http://{address}:{TARGET_PORT}/; "
        "ps -eo args | grep -c '[s]b-rust-std'",
    )
    assert "Hello" in probe.stdout and "Keep-Alive" in probe.stdout, probe.stdout
    assert probe.stdout.strip().endswith("0"), f"rust-std still runs: {probe.stdout}"
    assert (hosts.ROOT / "deploy" / "targets" / "node-std" / "server.js").exists()


def test_cluster_state_stopped_stops_every_service(
    cluster: hosts.Cluster, ansible: hosts.Ansible
) -> None:
    proc, seconds = ansible.playbook(
        hosts.write_inventory(cluster), "-e", "system=node-std", "-e", "cluster_state=stopped"
    )
    print(f"\nstopping the cluster took {seconds:.1f} s")
    assert proc.returncode == 0, _output(proc)[-6000:]
    for name in cluster.hosts:
        # Each host has its own PID namespace: what runs there is sshd (PID 1, or under systemd),
        # systemd's own daemons on a systemd host, and this probe.
        probe = cluster.ssh(name, "ps -eo comm= | sort -u; ls /run/swarmbench")
        left = set(probe.stdout.split()) - {"sshd", "bash", "sh", "ps", "sort", "ls"}
        left = {p for p in left if not p.startswith(("systemd", "(sd-", "dbus-"))}
        assert left == set(), f"{name} still runs or keeps pidfiles of: {left}"
        assert cluster.services(name) == set(), name
