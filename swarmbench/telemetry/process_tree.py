"""One server's whole process tree read at one instant: CPU, memory, threads, descriptors.

The target collector exports it; the local bench samples it during a cell (telemetry.sampler).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil


@dataclass
class TreeReading:
    """Sums over the server and all its descendants at one instant."""

    cpu_seconds: float = 0.0
    rss_bytes: int = 0
    threads: int = 0
    fds: int = 0
    processes: int = 0
    errors: int = 0


def read_tree(root: psutil.Process) -> TreeReading:
    """Sum the server and all its descendants now; NoSuchProcess if the server is gone."""
    if not root.is_running() or root.status() == psutil.STATUS_ZOMBIE:
        raise psutil.NoSuchProcess(root.pid)
    reading = TreeReading()
    _add(reading, root, must_exist=True)
    for child in root.children(recursive=True):
        _add(reading, child, must_exist=False)
    return reading


def _add(reading: TreeReading, proc: psutil.Process, must_exist: bool) -> None:
    """Add one process; children_* holds descendants already reaped, so nothing is lost."""
    try:
        with proc.oneshot():
            times = proc.cpu_times()
            mem = proc.memory_info()
            threads = proc.num_threads()
            fds = proc.num_fds() if os.name == "posix" else 0
    except psutil.NoSuchProcess:
        if must_exist:
            raise
        return  # a child that exited between listing and reading: its parent accounts it
    except psutil.AccessDenied:
        if must_exist:
            raise
        reading.errors += 1
        return
    reading.cpu_seconds += times.user + times.system + times.children_user + times.children_system
    reading.rss_bytes += mem.rss
    reading.threads += threads
    reading.fds += fds
    reading.processes += 1
