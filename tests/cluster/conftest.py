"""Fixtures of the cluster tests: five namespaced SSH hosts and a way to run Ansible on them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import hosts  # the harness beside this file


@pytest.fixture(scope="session")
def cluster() -> Iterator[hosts.Cluster]:
    reason = hosts.available()
    if reason:
        pytest.skip(reason)
    names = [name for group in hosts.GROUPS.values() for name in group]
    no_systemd = hosts.systemd_unavailable()
    if no_systemd:
        print(f"\ncluster: every host runs sshd alone, no systemd host: {no_systemd}")
    else:  # the install path's host (test_install_path.py) needs systemd for Grafana's unit
        names.append(hosts.FRESH_HOST)
    systemd = frozenset() if no_systemd else hosts.SYSTEMD_HOSTS | {hosts.FRESH_HOST}
    created = hosts.create(names, systemd, frozenset({hosts.FRESH_HOST}))
    try:
        yield created
    finally:
        hosts.destroy(created)
    assert hosts.namespaces() == [], "namespaces of the cluster harness were left behind"


@pytest.fixture(scope="session")
def ansible(cluster: hosts.Cluster) -> hosts.Ansible:
    return hosts.Ansible(cluster)
