"""The bench's target address, checked against where the playbook bound the target.

The bench loads http://ADDRESS:PORT/ with the inventory's address of the target
(Inventory.address: common_cluster_address, else ansible_host); the playbook binds the target to
its cluster address (by default the address of the host's default route) and writes that, with
the port, to every worker's target allowlist (roles/common/tasks/allowlist.yml). Where the two
differ the bench would load an address where the target does not listen, or another machine:
it stops before the first cell, naming both. The workers would refuse such a host anyway.
"""

from __future__ import annotations

import subprocess

from swarmbench.cluster.inventory import Inventory
from swarmbench.engine.target_allowlist import Allowlist
from swarmbench.errors import UsageError
from swarmbench.util import processes

SSH_TIMEOUT_S = 60


def allowlist_path(inv: Inventory, host: str) -> str:
    """Where the playbook writes the target allowlist on `host`."""
    root = str(inv.var(host, "common_install_root", "/opt/swarmbench"))
    return f"{root}/etc/target-allowlist"


def read_allowlist(inv: Inventory, host: str) -> Allowlist:
    """The allowlist the playbook wrote on `host`, read over SSH."""
    path = allowlist_path(inv, host)
    try:
        proc = processes.run(
            [*inv.ssh_command(host), f"cat {path}"], timeout=SSH_TIMEOUT_S, text=True
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"reading {path} on {host} over SSH took over {SSH_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise UsageError(f"cannot read the target allowlist {path} on {host}: {last}")
    return Allowlist.parse(proc.stdout, f"{host}:{path}")


def check_target(inv: Inventory, url: str) -> None:
    """UsageError unless the workers' allowlist admits `url` (the target the bench loads)."""
    worker, target = inv.one("workers"), inv.one("targets")
    reason = read_allowlist(inv, worker).refusal(url)
    if reason:
        raise UsageError(
            f"the bench would load {url}, the inventory's address of {target}, but the playbook "
            f"bound {target} elsewhere: {reason}; set common_cluster_address for {target}"
        )
