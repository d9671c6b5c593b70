"""A soak: one target at a fixed rate for minutes, watching the generator for leaks.

The Locust master and its workers are sampled every few seconds (RSS and open file
descriptors, by PID with psutil). After a warm-up (imports, pools, the first histogram buckets
all settle), memory should stay flat and descriptors constant: growth is measured from the
median of the first samples after the warm-up to the median of the last ones.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from swarmbench.generators.locust import locust_command
from swarmbench.targets import process, registry
from swarmbench.util import pinning, processes

#: Memory may grow this much after the warm-up and still count as flat.
GROWTH_GOAL_PERCENT = 10.0
#: Samples on each side of the comparison (medians, so one GC pause does not decide).
EDGE_SAMPLES = 3
#: Descriptors that may come and go (a reconnect, a log rotation) without being a leak.
FD_SLACK = 2
#: Locust gets this long past its run time to write its results and exit.
GRACE_S = 60.0


@dataclass(frozen=True)
class SoakSpec:
    system: str
    rate: float
    duration_s: float
    warmup_s: float
    users: int
    workers: int
    interval_s: float
    keepalive: bool = True


@dataclass
class Series:
    """One process's samples: (seconds since start, RSS bytes, open fds)."""

    name: str
    samples: list[tuple[float, int, int]] = field(default_factory=list)

    def _edges(self, warmup_s: float) -> tuple[list[tuple[float, int, int]], ...]:
        after = [s for s in self.samples if s[0] >= warmup_s]
        return after[:EDGE_SAMPLES], after[-EDGE_SAMPLES:]

    def figures(self, warmup_s: float) -> dict[str, Any] | None:
        first, last = self._edges(warmup_s)
        if len(first) < EDGE_SAMPLES or first[0] is last[0]:
            return None
        rss_start = statistics.median(s[1] for s in first)
        rss_end = statistics.median(s[1] for s in last)
        fds_start, fds_end = max(s[2] for s in first), last[-1][2]
        return {
            "rss_start_bytes": rss_start,
            "rss_end_bytes": rss_end,
            "rss_growth_percent": 100 * (rss_end - rss_start) / rss_start,
            "fds_start": fds_start,
            "fds_end": fds_end,
            "fd_leak": fds_end > fds_start + FD_SLACK,
        }


def soak_command(spec: SoakSpec, url: str, latency_json: Path) -> list[str]:
    return locust_command(
        "KeepAliveUser" if spec.keepalive else "CloseUser",
        users=spec.users,
        run_time_s=spec.duration_s,
        host=url,
        rate=spec.rate,
        latency_json=latency_json,
        metrics_bind="",
        processes_=spec.workers,
        extra=("--only-summary", "--loglevel", "WARNING"),
    )


def _sample(series: dict[int, Series], master: psutil.Process, t: float) -> None:
    try:
        procs = [master, *master.children()]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        try:
            with proc.oneshot():
                rss, fds = proc.memory_info().rss, proc.num_fds()
        except psutil.NoSuchProcess:
            continue
        if proc.pid not in series:  # workers are named in the order they first appear
            series[proc.pid] = Series("master" if proc is master else f"worker {len(series)}")
        series[proc.pid].samples.append((t, rss, fds))


def _watch(proc: subprocess.Popen[str], spec: SoakSpec) -> dict[int, Series]:
    """Sample the master and its workers until Locust exits (or overstays its grace)."""
    series: dict[int, Series] = {}
    master = psutil.Process(proc.pid)
    start = time.monotonic()
    deadline = start + spec.duration_s + GRACE_S
    while proc.poll() is None and time.monotonic() < deadline:
        _sample(series, master, time.monotonic() - start)
        time.sleep(spec.interval_s)
    return series


def run_soak(spec: SoakSpec) -> dict[str, Any]:
    """Run the soak; returns the run's totals and each process's figures."""
    placement = pinning.split()
    target = registry.get(spec.system)
    threads = len(placement.target)
    with (
        tempfile.TemporaryDirectory(prefix="swarmbench-soak-") as tmp,
        process.started(target, processes.free_port(), threads, cpus=placement.target) as srv,
    ):
        latency_json = Path(tmp) / "latency.json"
        proc = processes.spawn(
            soak_command(spec, srv.url, latency_json),
            cpus=placement.generator,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            series = _watch(proc, spec)
        finally:
            processes.stop(proc)  # the group: Locust's forked workers too
            _, stderr = proc.communicate()
        totals = json.loads(latency_json.read_text()) if latency_json.exists() else {}
    figures = {s.name: s.figures(spec.warmup_s) for s in series.values()}
    return {"totals": totals, "processes": figures, "exit_code": proc.returncode, "log": stderr}
