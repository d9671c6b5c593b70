"""Starting and stopping one target server on this machine."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from swarmbench import pinning
from swarmbench.errors import UsageError
from swarmbench.registry import Target

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


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


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_listening(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UsageError(f"the server exited with status {proc.returncode} while starting")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise UsageError(f"the server did not listen on {host}:{port} within {timeout:g} s")


@dataclass
class RunningTarget:
    target: Target
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    cpus: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL what is left after a grace period."""
        if self.proc.poll() is None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _signal_group(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        else:
            _signal_group(self.proc.pid, signal.SIGKILL)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, sig)


def start(
    target: Target,
    port: int,
    threads: int,
    host: str = "127.0.0.1",
    cpus: Sequence[int] = (),
) -> RunningTarget:
    """Start a built target, pinned to `cpus` if given, and wait until it accepts connections."""
    if not target.is_built():
        hint = f"run `swarmbench targets build {target.name}`"
        raise UsageError(f"{target.name} is not built: {hint}")
    check_port_free(host, port)
    pinned = list(cpus)
    proc = subprocess.Popen(
        target.run_command(port=port, threads=threads, host=host),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=pinning.preexec(pinned),  # noqa: PLW1509 - pin before the server's threads
    )
    running = RunningTarget(target, host, port, proc, pinned)
    try:
        wait_listening(host, port, proc, START_TIMEOUT_S)
    except BaseException:
        running.stop()
        raise
    return running


@contextmanager
def started(
    target: Target, port: int, threads: int, host: str = "127.0.0.1", cpus: Sequence[int] = ()
) -> Iterator[RunningTarget]:
    running = start(target, port, threads, host, cpus)
    try:
        yield running
    finally:
        running.stop()
