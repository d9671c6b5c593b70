"""playbooks/cluster.yml on five namespaced SSH hosts: bad input, provisioning, idempotence,
a distributed Locust run, Prometheus. (Stopping and switching: test_cluster_states.py.)

The tests run in file order on one set of hosts, first of the cluster modules (conftest.ORDER):
the bad-input tests while the hosts are fresh, so they can check that nothing was installed or
started anywhere, then the session's provisioning (the `provisioned` fixture) and what it gives.
"""

from __future__ import annotations

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
    assert "inventory group 'monitor' is missing or empty" in hosts.output(proc)
    _assert_untouched(cluster)


def test_unknown_system_stops_naming_it(cluster: hosts.Cluster, ansible: hosts.Ansible) -> None:
    proc, _ = ansible.playbook(hosts.write_inventory(cluster), "-e", "system=no-such-server")
    assert proc.returncode != 0
    assert "unknown system 'no-such-server'" in hosts.output(proc)
    _assert_untouched(cluster)


def test_host_not_answering_ssh_stops_naming_it(
    cluster: hosts.Cluster, ansible: hosts.Ansible
) -> None:
    # GHOST_ADDRESS is on the bridge's network but nothing answers there.
    inventory = hosts.write_inventory(cluster, extra_hosts={"ghost": hosts.GHOST_ADDRESS})
    proc, _ = ansible.playbook(inventory, "-e", "common_reachable_timeout=5")
    assert proc.returncode != 0
    assert f"host ghost ({hosts.GHOST_ADDRESS}) does not answer SSH" in hosts.output(proc)
    for name in cluster.hosts:  # the hosts that answered are not blamed
        assert f"host {name} (" not in hosts.output(proc), hosts.output(proc)[-3000:]
    _assert_untouched(cluster)


# The session's provisioning (`provisioned`) and a second run: each bounded by its own timeout,
# pytest's 600 s is one run's bound.
@pytest.mark.timeout(hosts.TWO_PLAYBOOK_RUNS_S)
def test_provision_twice_second_run_changes_nothing(
    ansible: hosts.Ansible, provisioned: hosts.Provisioning
) -> None:
    second, seconds = ansible.playbook(provisioned.inventory)
    print(f"second, unchanged run took {seconds:.1f} s")
    assert second.returncode == 0, hosts.output(second)[-6000:]
    recap = _recap(second.stdout)
    assert set(recap) >= set(hosts.INVENTORY_HOSTS), second.stdout[-3000:]
    changed = {host: counts for host, counts in recap.items() if counts != (0, 0, 0)}
    tasks = "\n".join(_changed_tasks(second.stdout))
    assert changed == {}, f"second run changed something: {changed}\n{tasks}"


def test_systemd_hosts_run_their_services_as_units(
    cluster: hosts.Cluster, provisioned: hosts.Provisioning
) -> None:
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


def test_distributed_run_reaches_the_target_and_prometheus(
    cluster: hosts.Cluster, provisioned: hosts.Provisioning
) -> None:
    target = f"http://{cluster.hosts[TARGET].address}:{TARGET_PORT}"
    form = urllib.parse.urlencode(
        {"user_count": 4, "spawn_rate": 4, "host": target, "run_time": "6s"}
    )
    started = hosts.master_json(cluster, "/swarm", form)
    assert started["success"], started
    time.sleep(3)
    during = hosts.master_json(cluster, "/stats/requests")
    busy = {w["id"].split("_")[0]: w["user_count"] for w in during["workers"]}
    assert busy.keys() == set(hosts.GROUPS["workers"]), during["workers"]
    assert all(users > 0 for users in busy.values()), f"a worker ran no users: {busy}"
    deadline = time.monotonic() + 20
    while (after := hosts.master_json(cluster, "/stats/requests"))["state"] != "stopped":
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
