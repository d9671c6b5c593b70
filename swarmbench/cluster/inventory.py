"""An Ansible inventory as the cluster bench needs it: groups, cluster addresses, SSH commands.

Read through `ansible-inventory --list` (the venv's own), so every inventory format and
variable precedence Ansible knows applies here too; nothing is parsed by hand.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmbench.errors import UsageError
from swarmbench.util import processes

#: The groups playbooks/cluster.yml provisions; each must have at least one host.
GROUPS = ("master", "workers", "targets", "monitor")
#: Groups that must have exactly one host: the bench drives one master, reads one Prometheus.
SINGLE = ("master", "monitor")
SSH_CONNECT_TIMEOUT_S = 10
LIST_TIMEOUT_S = 60


@dataclass(frozen=True)
class Inventory:
    path: Path
    groups: dict[str, list[str]]
    hostvars: dict[str, dict[str, Any]]

    def one(self, group: str) -> str:
        return self.groups[group][0]

    def address(self, host: str) -> str:
        """The host's cluster address: where its services listen (the playbook's choice)."""
        hv = self.hostvars.get(host, {})
        return str(hv.get("common_cluster_address") or hv.get("ansible_host") or host)

    def var(self, host: str, name: str, default: Any) -> Any:
        value = self.hostvars.get(host, {}).get(name, default)
        return default if value is None else value

    def ssh_command(self, host: str, *options: str) -> list[str]:
        """`ssh ... user@host` as Ansible would connect (add the remote command after it)."""
        hv = self.hostvars.get(host, {})
        cmd = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={SSH_CONNECT_TIMEOUT_S}"]
        if hv.get("ansible_port"):
            cmd += ["-p", str(hv["ansible_port"])]
        if hv.get("ansible_ssh_private_key_file"):
            cmd += ["-i", str(Path(str(hv["ansible_ssh_private_key_file"])).expanduser())]
        # The same extra arguments Ansible passes: known-hosts handling, ProxyJump, ...
        cmd += shlex.split(str(hv.get("ansible_ssh_common_args") or ""))
        cmd += shlex.split(str(hv.get("ansible_ssh_extra_args") or ""))
        for option in options:
            cmd += ["-o", option]
        user = hv.get("ansible_user")
        target = str(hv.get("ansible_host") or host)
        return [*cmd, f"{user}@{target}" if user else target]

    def by_group(self) -> dict[str, list[dict[str, str]]]:
        """For run.json: each group's hosts with their cluster addresses."""
        return {
            group: [{"host": h, "address": self.address(h)} for h in self.groups[group]]
            for group in GROUPS
        }


def _ansible_inventory() -> str:
    return str(Path(sys.executable).with_name("ansible-inventory"))


def _hosts(data: dict[str, Any], group: str) -> list[str]:
    """A group's hosts, its child groups' included (Ansible's own membership rule)."""
    node = data.get(group) or {}
    hosts = list(node.get("hosts", []))
    for child in node.get("children", []):
        hosts += [h for h in _hosts(data, child) if h not in hosts]
    return hosts


def load(path: Path) -> Inventory:
    """Read and check an inventory; UsageError naming what is missing."""
    if not path.is_file():
        raise UsageError(f"--inventory {path}: no such file")
    try:
        proc = processes.run(
            [_ansible_inventory(), "-i", str(path), "--list"], timeout=LIST_TIMEOUT_S, text=True
        )
    except FileNotFoundError:
        raise UsageError("ansible-inventory not found: `make venv` installs Ansible") from None
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"--inventory {path}: ansible-inventory took over {LIST_TIMEOUT_S:g} s"
        ) from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UsageError(f"--inventory {path}: ansible-inventory failed: {last}")
    data = json.loads(proc.stdout)
    return check(path, data)


def check(path: Path, data: dict[str, Any]) -> Inventory:
    groups = {group: _hosts(data, group) for group in GROUPS}
    missing = [g for g in GROUPS if not groups[g]]
    if missing:
        names = ", ".join(f"'{g}'" for g in missing)
        plural = "s" if len(missing) > 1 else ""
        raise UsageError(f"{path}: inventory group{plural} {names} missing or empty")
    for group in SINGLE:
        if len(groups[group]) > 1:
            raise UsageError(
                f"{path}: inventory group '{group}' has {len(groups[group])} hosts "
                f"({', '.join(groups[group])}); the bench drives exactly one"
            )
    hostvars = data.get("_meta", {}).get("hostvars", {})
    return Inventory(path, groups, hostvars)
