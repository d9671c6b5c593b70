"""This process's CPU time over exact intervals, for the generator's own cost per request."""

from __future__ import annotations

import time

import psutil


class CpuMeter:
    """This process's CPU since the last reading: exact, unlike a point sample.

    Locust's own WorkerNode.cpu_usage is psutil's reading every 5 s (CPU_MONITOR_INTERVAL),
    which a 10 s run samples once or twice; the meter measures each report's whole interval.
    """

    def __init__(self) -> None:
        self._proc = psutil.Process()
        self._wall, self._cpu = self._now()

    def _now(self) -> tuple[float, float]:
        times = self._proc.cpu_times()
        return time.monotonic(), times.user + times.system

    def read(self) -> tuple[float, float]:
        """(CPU seconds, wall seconds) since the previous read."""
        wall, cpu = self._now()
        delta = (cpu - self._cpu, wall - self._wall)
        self._wall, self._cpu = wall, cpu
        return delta
