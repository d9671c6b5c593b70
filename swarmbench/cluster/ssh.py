"""SSH from the controller: the tunnel to the master's loopback web UI, and a session on it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from swarmbench.cluster import web_access
from swarmbench.cluster.inventory import Inventory
from swarmbench.cluster.master_api import RemoteMaster
from swarmbench.errors import UsageError
from swarmbench.util import processes

TUNNEL_TIMEOUT_S = 30.0


@contextmanager
def tunnel(
    inv: Inventory, log_dir: Path, access: web_access.WebAccess | None = None
) -> Iterator[str]:
    """ssh -L to the master's web UI; yields the local URL once the UI answers there (http, or
    https with `access`'s pinned certificate); stops ssh by PID."""
    access = access or web_access.from_inventory(inv)
    master = inv.one("master")
    web_host = str(inv.var(master, "master_web_host", "127.0.0.1"))
    web_port = int(inv.var(master, "master_web_port", 8089))
    local = processes.free_port()
    cmd = inv.ssh_command(master, "ExitOnForwardFailure=yes", "ServerAliveInterval=5")
    cmd[1:1] = ["-N", "-L", f"127.0.0.1:{local}:{web_host}:{web_port}"]
    with (log_dir / "tunnel.log").open("ab") as out:
        proc = processes.spawn(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    url = f"{access.scheme}://127.0.0.1:{local}"
    try:
        opener = access.opener()
        deadline = time.monotonic() + TUNNEL_TIMEOUT_S
        while not web_access.answers(opener, url):
            if proc.poll() is not None:
                raise UsageError(
                    f"SSH tunnel to the master {master} failed: see {log_dir / 'tunnel.log'}"
                )
            if time.monotonic() > deadline:
                raise UsageError(
                    f"the Locust master's web UI on {master} did not answer through SSH"
                )
            time.sleep(0.25)
        yield url
    finally:
        processes.stop(proc)


@contextmanager
def open_master(inv: Inventory, log_dir: Path, expected_workers: int) -> Iterator[RemoteMaster]:
    """The master's web UI through the tunnel, logged in where it has a login."""
    access = web_access.from_inventory(inv)
    with tunnel(inv, log_dir, access) as url:
        opener = access.opener()
        access.log_in(opener, url)
        yield RemoteMaster(url, expected_workers, opener)
