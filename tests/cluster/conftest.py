"""Fixtures of the cluster tests: five namespaced SSH hosts, a way to run Ansible on them, and
their one full provisioning that the modules share.

Every playbook run costs minutes on a busy machine, so the modules run in the order ORDER gives:
the tests that read the provisioned cluster as it is (test_cluster.py's, the security tests) come
before those that change its state (stop services, switch the system, run benches).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import hosts  # the harness beside this file

HERE = Path(__file__).parent
#: Module order on the session's hosts. test_cluster.py first: its bad-input tests need hosts
#: nothing has touched yet, then it provisions (the `provisioned` fixture). The security tests
#: read that provisioning as it is; test_cluster_states.py then stops, restarts and switches;
#: each bench provisions as it needs. A module not named here runs after these, in file order.
ORDER = (
    "test_ansible_lint.py",
    "test_cluster.py",
    "test_cluster_security.py",
    "test_cluster_states.py",
    "test_cluster_bench.py",
    "test_install_path.py",
    "test_worker_scaling.py",
)


#: The session's hosts while they are up (at most one cluster), and the run's last cluster test.
_up: list[hosts.Cluster] = []
_last: list[pytest.Item] = []


def _rank(item: pytest.Item) -> int:
    name = item.path.name
    return ORDER.index(name) if name in ORDER else len(ORDER)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The cluster tests in ORDER, in the places they held among the whole run's tests."""
    slots = [i for i, item in enumerate(items) if item.path.parent == HERE]
    ordered = sorted((items[i] for i in slots), key=_rank)  # stable: file order within a module
    for slot, item in zip(slots, ordered, strict=True):
        items[slot] = item
    _last.clear()
    if slots:
        _last.append(items[slots[-1]])


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Take the hosts down after the last cluster test, once its fixtures are torn down.

    A provisioned cluster keeps a Locust master, workers, Prometheus and exporters running (a
    tenth of a core or more): the rest of the run's tests, which come after these, get the
    machine without them. The session fixture's own teardown is then left with nothing to do.
    """
    if _last and item is _last[0] and _up:
        hosts.destroy(_up.pop())
        assert hosts.namespaces() == [], "namespaces of the cluster harness were left behind"


@pytest.fixture(scope="session")
def cluster() -> Iterator[hosts.Cluster]:
    reason = hosts.available()
    if reason:
        pytest.skip(reason)
    names = list(hosts.INVENTORY_HOSTS)
    no_systemd = hosts.systemd_unavailable()
    if no_systemd:
        print(f"\ncluster: every host runs sshd alone, no systemd host: {no_systemd}")
    else:  # the install path's host (test_install_path.py) needs systemd for Grafana's unit
        names.append(hosts.FRESH_HOST)
    systemd = frozenset() if no_systemd else hosts.SYSTEMD_HOSTS | {hosts.FRESH_HOST}
    created = hosts.create(names, systemd, frozenset({hosts.FRESH_HOST}))
    _up.append(created)
    try:
        yield created
    finally:
        if _up:  # not taken down after the last cluster test (an interrupted run)
            hosts.destroy(_up.pop())
    assert hosts.namespaces() == [], "namespaces of the cluster harness were left behind"


@pytest.fixture(scope="session")
def ansible(cluster: hosts.Cluster) -> hosts.Ansible:
    return hosts.Ansible(cluster)


@pytest.fixture(scope="session")
def provisioned(cluster: hosts.Cluster, ansible: hosts.Ansible) -> hosts.Provisioning:
    """The session's one full provisioning of the fresh hosts with the test inventory: its
    output and time stay for test_cluster.py's idempotence test, which runs the playbook again.
    Tests that change the cluster's state run after those that read it (ORDER)."""
    inventory = hosts.write_inventory(cluster)
    proc, seconds = ansible.playbook(inventory)
    count = len(hosts.INVENTORY_HOSTS)
    print(f"\nprovisioning {count} fresh hosts took {seconds:.1f} s (goal < 180 s)")
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"[-6000:]
    return hosts.Provisioning(inventory, proc, seconds)
