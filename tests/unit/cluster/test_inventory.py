"""swarmbench.cluster.inventory: groups checked, cluster addresses, Ansible's SSH command."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmbench.cluster import inventory
from swarmbench.errors import UsageError

INI = """\
[master]
m1 ansible_host=198.18.0.11 ansible_user=root ansible_ssh_private_key_file=/k/id
[workers]
w1 ansible_host=198.18.0.12 ansible_port=2222
w2 ansible_host=198.18.0.13
[targets]
t1 ansible_host=203.0.113.9 common_cluster_address=198.18.0.14
[monitor]
mon1 ansible_host=198.18.0.15
[all:vars]
ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/k/kh -o "ProxyJump=a b"'
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.ini"
    path.write_text(text)
    return path


def test_groups_addresses_and_ssh(tmp_path: Path) -> None:
    inv = inventory.load(_write(tmp_path, INI))
    assert inv.groups == {
        "master": ["m1"],
        "workers": ["w1", "w2"],
        "targets": ["t1"],
        "monitor": ["mon1"],
    }
    assert inv.address("t1") == "198.18.0.14"  # the cluster network, not the SSH address
    assert inv.address("w2") == "198.18.0.13"
    ssh = inv.ssh_command("m1", "ExitOnForwardFailure=yes")
    assert ssh[0] == "ssh" and ssh[-1] == "root@198.18.0.11"
    assert ssh[ssh.index("-i") : ssh.index("-i") + 2] == ["-i", "/k/id"]
    assert "BatchMode=yes" in ssh and "ExitOnForwardFailure=yes" in ssh
    assert "UserKnownHostsFile=/k/kh" in ssh
    assert "ProxyJump=a b" in ssh  # shlex keeps a quoted argument whole
    w1 = inv.ssh_command("w1")
    assert w1[w1.index("-p") + 1] == "2222" and w1[-1] == "198.18.0.12"


def test_missing_groups_are_named(tmp_path: Path) -> None:
    text = INI.replace("[monitor]\nmon1 ansible_host=198.18.0.15\n", "").replace("[targets]", "[x]")
    with pytest.raises(UsageError, match=r"groups 'targets', 'monitor' missing or empty"):
        inventory.load(_write(tmp_path, text))


def test_two_masters_are_refused(tmp_path: Path) -> None:
    text = INI.replace("[master]\n", "[master]\nm2 ansible_host=198.18.0.16\n")
    with pytest.raises(UsageError, match=r"'master' has 2 hosts \(m2, m1\)|'master' has 2 hosts"):
        inventory.load(_write(tmp_path, text))


def test_no_such_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        inventory.load(tmp_path / "nope.ini")
