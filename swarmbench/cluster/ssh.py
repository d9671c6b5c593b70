"""SSH from the controller: the tunnel to the master's loopback web UI."""

from __future__ import annotations

import subprocess
import time
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from swarmbench.cluster.inventory import Inventory
from swarmbench.cluster.master_api import RemoteMaster
from swarmbench.errors import UsageError
from swarmbench.util import processes

TUNNEL_TIMEOUT_S = 30.0


@contextmanager
def tunnel(inv: Inventory, log_dir: Path) -> Iterator[str]:
    """ssh -L to the master's loopback web UI; yields the local URL, stops ssh by PID."""
    master = inv.one("master")
    web_host = str(inv.var(master, "master_web_host", "127.0.0.1"))
    web_port = int(inv.var(master, "master_web_port", 8089))
    local = processes.free_port()
    cmd = inv.ssh_command(master, "ExitOnForwardFailure=yes", "ServerAliveInterval=5")
    cmd[1:1] = ["-N", "-L", f"127.0.0.1:{local}:{web_host}:{web_port}"]
    with (log_dir / "tunnel.log").open("ab") as out:
        proc = processes.spawn(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{local}"
    try:
        probe = RemoteMaster(url, 0)
        deadline = time.monotonic() + TUNNEL_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise UsageError(
                    f"SSH tunnel to the master {master} failed: see {log_dir / 'tunnel.log'}"
                )
            try:
                probe.stats()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise UsageError(
                        f"the Locust master's web UI on {master} did not answer through SSH"
                    ) from None
                time.sleep(0.25)
        yield url
    finally:
        processes.stop(proc)
