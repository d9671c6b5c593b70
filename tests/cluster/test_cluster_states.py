"""playbooks/cluster.yml changing a provisioned cluster's state: stopping the worker hosts
(and starting them again), switching the target's system, cluster_state=stopped (with the
firewall turned off).

Runs after the tests that read the session's provisioning as it is (conftest.ORDER), in file
order: the last test leaves every service stopped (each bench provisions again).
"""

from __future__ import annotations

import collections
import time

import hosts
import pytest

pytestmark = pytest.mark.cluster

TARGET = "target1"
TARGET_PORT = 8080
MASTER = hosts.GROUPS["master"][0]


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
            for w in hosts.master_json(cluster, "/stats/requests")["workers"]
            if w["state"] != "missing"
        )
        if dict(seen) == want or time.monotonic() > deadline:
            return dict(seen)
        time.sleep(0.5)


def test_stopping_the_worker_hosts_stops_all_their_workers(
    cluster: hosts.Cluster, ansible: hosts.Ansible, provisioned: hosts.Provisioning
) -> None:
    # `locust --worker --processes N` forks its workers; its parent dies on TERM alone, so a
    # stop that signals only the PID leaves the forked workers connected. The master keeps
    # running (a master that quits takes its workers with it and would hide that), and the two
    # worker hosts stop through both service managers where one of them runs systemd.
    workers = hosts.GROUPS["workers"]
    inventory = hosts.write_inventory(cluster)
    with inventory.open("a") as more:
        more.write("\n[stopping]\n" + "".join(f"{n} cluster_state=stopped\n" for n in workers))
    # The workers alone do not know the master's address: one line says so, not Jinja.
    proc, _ = ansible.playbook(inventory, "--limit", ",".join(["localhost", *workers]))
    assert proc.returncode != 0
    assert f"or add {MASTER} to --limit" in hosts.output(proc), hosts.output(proc)[-3000:]
    for name in workers:
        assert len(_locust_processes(cluster, name)) == 2, name  # nothing stopped before it
    # The target's and the monitor's half of a whole run (checked unchanged by
    # test_provision_twice_second_run_changes_nothing) would add about a minute each time.
    limit = ("--limit", ",".join(["localhost", MASTER, *workers]))
    proc, _ = ansible.playbook(inventory, *limit)
    assert proc.returncode == 0, hosts.output(proc)[-6000:]
    for name in workers:
        assert _locust_processes(cluster, name) == [], name
    assert _master_workers(cluster, {}) == {}

    proc, _ = ansible.playbook(hosts.write_inventory(cluster), *limit)
    assert proc.returncode == 0, hosts.output(proc)[-6000:]
    one_each = dict.fromkeys(workers, 1)
    assert _master_workers(cluster, one_each) == one_each
    for name in workers:  # workers_processes=1: the parent and the worker it forked
        assert len(_locust_processes(cluster, name)) == 2, _locust_processes(cluster, name)


def test_a_run_limited_to_the_monitor_names_the_hosts_it_needs(
    cluster: hosts.Cluster, ansible: hosts.Ansible, provisioned: hosts.Provisioning
) -> None:
    monitor = hosts.GROUPS["monitor"][0]
    proc, _ = ansible.playbook(hosts.write_inventory(cluster), "--limit", f"localhost,{monitor}")
    assert proc.returncode != 0
    text = hosts.output(proc)
    assert "Prometheus scrapes every host" in text, text[-3000:]
    assert f"{MASTER}, " in text and "add them to --limit" in text, text[-3000:]


def test_switching_the_system_restarts_only_the_target(
    cluster: hosts.Cluster, ansible: hosts.Ansible, provisioned: hosts.Provisioning
) -> None:
    inventory = hosts.write_inventory(cluster)
    proc, seconds = ansible.playbook(
        inventory, "-e", "system=node-std", "--limit", f"localhost,{TARGET}"
    )
    print(f"\nswitching to node-std took {seconds:.1f} s")
    assert proc.returncode == 0, hosts.output(proc)[-6000:]
    address = cluster.hosts[TARGET].address
    probe = cluster.ssh(
        TARGET,
        f"curl -si --max-time 5 http://{address}:{TARGET_PORT}/; "
        "ps -eo args | grep -c '[s]b-rust-std'",
    )
    assert "Hello" in probe.stdout and "Keep-Alive" in probe.stdout, probe.stdout
    assert probe.stdout.strip().endswith("0"), f"rust-std still runs: {probe.stdout}"
    assert (hosts.ROOT / "deploy" / "targets" / "node-std" / "server.js").exists()


#: A table of somebody else's on a host: a playbook run leaves it as it is.
FOREIGN_TABLE = "inet someone_else"


def test_cluster_state_stopped_with_the_firewall_off_leaves_no_service_and_no_table(
    cluster: hosts.Cluster, ansible: hosts.Ansible, provisioned: hosts.Provisioning
) -> None:
    """cluster_state=stopped stops every service. The same run turns the firewall off
    (common_firewall_enabled=false), which removes every table swarmbench loaded, its files
    and its boot unit, and no other table. (One playbook run for both: each costs a minute.)"""
    assert all(cluster.firewall(name) for name in hosts.INVENTORY_HOSTS)  # provisioned: on
    assert cluster.ssh(TARGET, f"nft add table {FOREIGN_TABLE}").returncode == 0
    try:
        proc, seconds = ansible.playbook(
            hosts.write_inventory(cluster),
            *("-e", "system=node-std", "-e", "cluster_state=stopped"),
            *("-e", "common_firewall_enabled=false"),
        )
        print(f"\nstopping the cluster took {seconds:.1f} s")
        assert proc.returncode == 0, hosts.output(proc)[-6000:]
        for name in hosts.INVENTORY_HOSTS:
            assert cluster.firewall(name) == [], name
        tables = cluster.ssh(TARGET, "nft list tables").stdout
        assert f"table {FOREIGN_TABLE}" in tables, tables
    finally:
        cluster.ssh(TARGET, f"nft delete table {FOREIGN_TABLE}")
    for name in cluster.hosts:
        # Each host has its own PID namespace: what runs there is sshd (PID 1, or under systemd),
        # systemd's own daemons on a systemd host, and this probe.
        probe = cluster.ssh(name, "ps -eo comm= | sort -u; ls /run/swarmbench")
        left = set(probe.stdout.split()) - {"sshd", "bash", "sh", "ps", "sort", "ls"}
        left = {p for p in left if not p.startswith(("systemd", "(sd-", "dbus-"))}
        assert left == set(), f"{name} still runs or keeps pidfiles of: {left}"
        assert cluster.services(name) == set(), name
