"""Child processes and ports: a free port, waiting for a listener, stopping a process group.

Every process swarmbench starts and later stops goes through `stop()`, so the grace period and
the SIGTERM-then-SIGKILL order are the same everywhere.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import time
from contextlib import suppress
from typing import Any

from swarmbench.errors import UsageError

#: How long a stopped process gets between SIGTERM and SIGKILL.
STOP_TIMEOUT_S = 5.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def check_port_free(host: str, port: int) -> None:
    """Fail with the port's number if something already listens there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on {host} is already in use") from None
            raise UsageError(f"cannot bind {host}:{port}: {exc.strerror}") from None


def wait_listening(
    host: str, port: int, proc: subprocess.Popen[Any], timeout: float, what: str = "the server"
) -> None:
    """Until host:port accepts a connection; UsageError if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UsageError(f"{what} exited with status {proc.returncode} while starting")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise UsageError(f"{what} did not listen on {host}:{port} within {timeout:g} s")


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group `pid` leads; nothing if it is gone."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop(
    proc: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT_S, *, group: bool = False
) -> None:
    """SIGTERM, then SIGKILL after `timeout`; `group`: the whole process group `proc` leads
    (started with start_new_session), so what it forked stops with it. Reaps `proc`."""

    def send(sig: signal.Signals) -> None:
        if group:
            signal_group(proc.pid, sig)
        elif proc.poll() is None:
            with suppress(ProcessLookupError):
                proc.send_signal(sig)

    if proc.poll() is None:
        send(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            proc.wait()
    elif group:
        send(signal.SIGKILL)  # the leader is gone; what it forked may not be
