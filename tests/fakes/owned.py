"""What a test's commands start, found by an owner token in their environment.

Every process a test's command starts inherits OWNER_VAR, set to a token of the test's own, so
the test finds what it left behind without touching the machine's other processes (several
checkouts run benches, targets and Locust here at once).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable

import psutil

OWNER_VAR = "SWARMBENCH_TEST_OWNER"


def owned_env(token: str) -> dict[str, str]:
    """This process's environment with the owner token set, for subprocess.run/Popen(env=)."""
    return dict(os.environ, **{OWNER_VAR: token})


def owned_processes(
    token: str, ignore: Callable[[psutil.Process], bool] | None = None
) -> list[psutil.Process]:
    """Processes alive now whose environment carries `token` (zombies excluded), those
    `ignore` picks aside (a test that set the token in its own environment, say)."""
    found = []
    for proc in psutil.process_iter():
        try:
            owned = proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get(OWNER_VAR) == token
            if owned and (ignore is None or not ignore(proc)):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def owned_after(
    token: str, within_s: float, ignore: Callable[[psutil.Process], bool] | None = None
) -> list[psutil.Process]:
    """What still carries `token` once it is all gone or `within_s` has passed: a stopped
    command's children take a moment to exit."""
    deadline = time.monotonic() + within_s
    while (left := owned_processes(token, ignore)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def listening_ports(procs: list[psutil.Process]) -> set[int]:
    """TCP ports these processes listen on."""
    ports = set()
    for proc in procs:
        try:
            conns = proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
        ports |= {c.laddr.port for c in conns if c.status == psutil.CONN_LISTEN}
    return ports


def port_listens(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def kill_owned(token: str) -> None:
    """SIGKILL whatever still carries `token`: a failed test leaves nothing on a shared machine."""
    for proc in owned_processes(token):
        with contextlib.suppress(psutil.Error):
            proc.kill()
