"""Starting and stopping one target server on this machine."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from swarmbench.errors import UsageError
from swarmbench.targets.registry import Target
from swarmbench.util import processes

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


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
        processes.stop(self.proc, STOP_TIMEOUT_S)


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
    processes.check_port_free(host, port)
    pinned = list(cpus)
    proc = processes.spawn(
        target.run_command(port=port, threads=threads, host=host),
        cpus=pinned,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    running = RunningTarget(target, host, port, proc, pinned)
    try:
        processes.wait_listening(host, port, proc, START_TIMEOUT_S)
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
