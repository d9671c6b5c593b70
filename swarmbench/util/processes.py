"""Child processes and ports: starting and stopping process groups, a free port, a listener.

Every process swarmbench starts goes through `spawn()` (or `run()`), and every stop through
`stop()`, so each child is stopped however the command ends:

- its own process group (a new session), so a stop reaches what it forked too (Locust's
  --processes workers, a server's helpers), and a terminal's Ctrl-C reaches only swarmbench,
  which then stops its children in order;
- an exception or a signal in swarmbench: the command's `finally` blocks call `stop()`;
  SIGTERM and SIGHUP end a command as Ctrl-C does (`install_signal_handlers`), and signals are
  held while a child is being started and registered, so none is lost between fork and record;
- swarmbench killed outright (SIGKILL) or dying without cleaning up: a reaper process
  (swarmbench.util.reaper), started once, learns each group through a pipe only this process
  holds and stops whatever is still listed when the pipe ends; each direct child also gets a
  parent-death signal (prctl PR_SET_PDEATHSIG).

`stop()` is SIGTERM, then SIGKILL after a grace period, the same everywhere.
"""

from __future__ import annotations

import _thread
import atexit
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from types import FrameType
from typing import IO, Any

from swarmbench.errors import UsageError
from swarmbench.util import reaper

#: How long a stopped process gets between SIGTERM and SIGKILL.
STOP_TIMEOUT_S = 5.0
#: Signals that end a command (Ctrl-C, `kill`, a closed terminal or SSH session).
ENDING_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


class Interrupted(KeyboardInterrupt):
    """A command ended by a signal; `signum` says which (SIGINT is KeyboardInterrupt's own)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signum)


def _interrupt_in_thread(args: threading.ExceptHookArgs) -> None:
    """An ending signal's exception seen in a helper thread (a sampler reading /proc when the
    signal came, seen at a load average near 20) is passed on to the main thread, whose
    `finally` blocks stop the children: otherwise only the helper thread would end, printing a
    traceback, and the command would run on."""
    if isinstance(args.exc_value, KeyboardInterrupt):
        _thread.interrupt_main(getattr(args.exc_value, "signum", signal.SIGINT))
        return
    _default_thread_hook(args)


_default_thread_hook = threading.excepthook


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP end the command as Ctrl-C does: its `finally` blocks stop children."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupted)
    threading.excepthook = _interrupt_in_thread


class _Registry:
    """The process groups this process started and has not stopped, and its reaper."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.groups: dict[int, subprocess.Popen[Any]] = {}
        self.reaper: subprocess.Popen[bytes] | None = None
        self.reaper_pid_owner = 0

    def _tell(self, line: str) -> None:
        """One line to the reaper, started on first use (again in a forked child)."""
        if self.reaper is None or self.reaper_pid_owner != os.getpid():
            self.reaper = subprocess.Popen(
                [sys.executable, "-m", "swarmbench.util.reaper"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.reaper_pid_owner = os.getpid()
        assert self.reaper.stdin is not None
        try:
            self.reaper.stdin.write(line.encode() + b"\n")
            self.reaper.stdin.flush()
        except OSError:  # the reaper is gone: in-process stops still run
            self.reaper = None

    def add(self, proc: subprocess.Popen[Any]) -> None:
        with self.lock:
            self.groups[proc.pid] = proc
            self._tell(f"+{proc.pid}")

    def remove(self, pid: int) -> None:
        with self.lock:
            if self.groups.pop(pid, None) is not None and self.reaper is not None:
                self._tell(f"-{pid}")

    def owns(self, pid: int) -> bool:
        return pid in self.groups


_registry = _Registry()


@contextmanager
def _signals_held() -> Iterator[None]:
    """Ending signals wait (pending) while a child is started and registered."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, ENDING_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _child_setup(cpus: Sequence[int], parent: int, death_signal: bool) -> Callable[[], None]:
    """Run in the child between fork and exec: signals unblocked, parent-death signal, CPUs."""
    pinned = list(cpus)
    libc = ctypes.CDLL(None, use_errno=True) if death_signal else None

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        if libc is not None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
        if pinned:
            os.sched_setaffinity(0, pinned)

    return setup


def spawn(argv: Sequence[str], *, cpus: Sequence[int] = (), **popen: Any) -> subprocess.Popen[Any]:
    """Start argv in its own process group, pinned to `cpus` if given, stopped however this
    process ends (see the module docstring). Popen's other arguments pass through."""
    # A parent-death signal follows the thread that forks: only the main thread lives as
    # long as the command.
    main = threading.current_thread() is threading.main_thread()
    setup = _child_setup(cpus, os.getpid(), death_signal=main)
    with _signals_held():
        proc = subprocess.Popen(
            list(argv),
            start_new_session=True,
            preexec_fn=setup,  # noqa: PLW1509 - pins before the child's threads start
            **popen,
        )
        _registry.add(proc)
    return proc


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    cpus: Sequence[int] = (),
    stdout: int | IO[Any] = subprocess.PIPE,
    stderr: int | IO[Any] = subprocess.PIPE,
    **popen: Any,
) -> subprocess.CompletedProcess[Any]:
    """subprocess.run through spawn(): on a timeout (subprocess.TimeoutExpired) or any exception
    the whole process group is stopped, not only its leader."""
    proc = spawn(argv, cpus=cpus, stdout=stdout, stderr=stderr, **popen)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        stop(proc)
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)


def stop_all() -> None:
    """Stop every group this process started and has not stopped (at exit)."""
    for proc in list(_registry.groups.values()):
        stop(proc)


atexit.register(stop_all)


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
    proc: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT_S, *, group: bool | None = None
) -> None:
    """SIGTERM, then SIGKILL after `timeout`; reaps `proc`. `group` (the default for what
    spawn() started): the whole process group `proc` leads, so what it forked stops with it."""
    if group is None:
        group = _registry.owns(proc.pid)

    def send(sig: signal.Signals) -> None:
        if group:
            signal_group(proc.pid, sig)
        elif proc.poll() is None:
            with suppress(ProcessLookupError):
                proc.send_signal(sig)

    deadline = time.monotonic() + timeout
    try:
        if proc.poll() is None:
            send(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                send(signal.SIGKILL)
                proc.wait()
        elif group:
            send(signal.SIGTERM)  # the leader had gone: what it forked may not have
        if group:  # what the leader forked gets the rest of the grace, then SIGKILL
            while reaper.group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            send(signal.SIGKILL)
    finally:
        _registry.remove(proc.pid)
