"""Direct readings of a local target's process tree during a cell: CPU, peak RSS, threads."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import psutil

from swarmbench.telemetry.process_tree import TreeReading, read_tree

SAMPLE_INTERVAL_S = 0.2


@dataclass
class TreeUsage:
    """A target's figures over a cell; None: not known (unknown_reason says why), never 0."""

    cpu_seconds: float | None
    rss_peak_bytes: int | None
    threads_peak: int | None
    #: stayed up throughout; None: not known
    alive: bool | None
    #: CPU seconds the whole machine spent busy over the same window (None: not measured here)
    machine_busy_seconds: float | None = None
    #: CPU seconds the hypervisor gave other guests over the same window (steal; None: not
    #: measured here, 0 on bare metal)
    machine_steal_seconds: float | None = None
    unknown_reason: str | None = None


def machine_seconds() -> tuple[float, float]:
    """All CPUs' busy and steal time since boot, from one reading.

    Busy is this machine's own: everything but idle, I/O wait and steal. Steal is time this
    virtual machine was ready to run but its hypervisor ran other guests: no process here used
    it, so the round's "other processes" figure (what busy leaves) does not hold it. It slows
    the target and the generator alike without showing in any process's CPU, so a round with
    much of it is flagged rather than counted anywhere.
    """
    times = psutil.cpu_times()
    steal = float(getattr(times, "steal", 0.0))
    idle = times.idle + getattr(times, "iowait", 0.0) + steal
    # guest time is already inside user time on Linux
    busy = sum(times) - idle - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return busy, steal


class TreeSampler:
    """Samples a process tree in a thread from start() to stop(); the peaks are what it saw."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-sampler", daemon=True)
        self._first: TreeReading | None = None
        self._last: TreeReading | None = None
        self._rss_peak = 0
        self._threads_peak = 0
        self._alive = True
        self._machine_start = (0.0, 0.0)

    def _sample(self) -> None:
        try:
            reading = read_tree(self.root)
        except psutil.Error:
            self._alive = False
            return
        self._first = self._first or reading
        self._last = reading
        self._rss_peak = max(self._rss_peak, reading.rss_bytes)
        self._threads_peak = max(self._threads_peak, reading.threads)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S) and self._alive:
            self._sample()

    def start(self) -> TreeSampler:
        self._machine_start = machine_seconds()
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> TreeUsage:
        self._stop.set()
        self._thread.join()
        if self._alive:
            self._sample()
        first, last = self._first, self._last
        busy_now, steal_now = machine_seconds()
        busy = busy_now - self._machine_start[0]
        steal = steal_now - self._machine_start[1]
        if not (first and last):
            reason = "the target's process tree could not be read"
            return TreeUsage(None, None, None, self._alive, busy, steal, unknown_reason=reason)
        cpu = last.cpu_seconds - first.cpu_seconds
        return TreeUsage(cpu, self._rss_peak, self._threads_peak, self._alive, busy, steal)
