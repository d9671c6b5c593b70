"""What telemetry costs: the collector's CPU at a 1 s scrape, and the master plugin's effect.

Two measurements, printed rather than asserted (the machine is shared and noisy):
1. `swarmbench collector` watching a running target, scraped every second like Prometheus
   does: its CPU time over the wall time, as a share of one core.
2. A Locust master + 1 worker at a fixed --rate against the same target, alternating rounds
   with the master's /metrics on (scraped every second) and off: the worker's CPU per request
   in each, medians and their ratio. The open model fixes the request rate, so the worker's
   CPU over the same window is compared at the same work.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from swarmbench.generators.locust import locust_command
from swarmbench.targets import process, registry
from swarmbench.util import processes

SCRAPE_INTERVAL_S = 1.0
RAMP_S = 3.0


@dataclass(frozen=True)
class CollectorCost:
    seconds: float
    scrapes: int
    cpu_seconds: float

    @property
    def core_percent(self) -> float:
        return 100 * self.cpu_seconds / self.seconds


def _scraper(url: str, stop: threading.Event) -> Callable[[], int]:
    """Scrape `url` every second in a thread until `stop`; returns a counter of scrapes."""
    count = [0]

    def loop() -> None:
        while not stop.wait(SCRAPE_INTERVAL_S):
            try:
                with urllib.request.urlopen(url, timeout=5) as resp:
                    resp.read()
                count[0] += 1
            except OSError:
                pass

    threading.Thread(target=loop, daemon=True).start()
    return lambda: count[0]


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def collector_cost(server_pid: int, system: str, seconds: float) -> CollectorCost:
    port = processes.free_port()
    cmd = [sys.executable, "-m", "swarmbench", "collector", "--system", system]
    cmd += ["--pid", str(server_pid), "--bind", f"127.0.0.1:{port}"]
    proc = processes.spawn(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        _wait_http(url, proc)
        me = psutil.Process(proc.pid)
        time.sleep(1.0)  # past start-up imports
        before, t0 = _cpu(me), time.monotonic()
        scrapes = _scraper(url, stop)
        time.sleep(seconds)
        after, t1 = _cpu(me), time.monotonic()
        return CollectorCost(t1 - t0, scrapes(), after - before)
    finally:
        stop.set()
        processes.stop(proc, timeout=0)


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def worker_cpu_us(url: str, rate: int, seconds: float, metrics: bool, run_dir: Path) -> float:
    """One round: the worker's CPU per request over `seconds` of steady load at `rate`."""
    master_port, metrics_port = processes.free_port(), processes.free_port()
    cpus = sorted(os.sched_getaffinity(0))
    # Load on the first CPU, the target on the last (see run()): they do not share a core.
    pin = cpus[:1] if len(cpus) > 1 else []
    bind = f"127.0.0.1:{metrics_port}" if metrics else ""
    master_cmd = locust_command(
        "KeepAliveUser", role="master", master_port=master_port, expect_workers=1, users=20,
        spawn_rate=100, run_time_s=seconds + RAMP_S + 1, metrics_bind=bind, rate=rate, host=url,
        latency_json=run_dir / "latency.json",
    )  # fmt: skip
    worker_cmd = locust_command("KeepAliveUser", role="worker", master_port=master_port)
    quiet = subprocess.DEVNULL
    master = processes.spawn(master_cmd, cpus=pin, stdout=quiet, stderr=quiet)
    worker = processes.spawn(worker_cmd, cpus=pin, stdout=quiet, stderr=quiet)
    stop = threading.Event()
    try:
        if metrics:
            _wait_http(f"http://127.0.0.1:{metrics_port}/metrics", master)
            _scraper(f"http://127.0.0.1:{metrics_port}/metrics", stop)
        time.sleep(RAMP_S)
        me = psutil.Process(worker.pid)
        before = _cpu(me)
        time.sleep(seconds)
        used = _cpu(me) - before
        master.wait(seconds + 30)
        return used * 1e6 / (rate * seconds)
    finally:
        stop.set()
        for proc in (master, worker):
            processes.stop(proc, timeout=0)


def run(system: str, seconds: float, rounds: int, rate: int, run_dir: Path) -> None:
    target = registry.get(system)
    cpus = sorted(os.sched_getaffinity(0))
    with process.started(target, processes.free_port(), 1, cpus=cpus[-1:]) as server:
        cost = collector_cost(server.pid, system, seconds)
        print(
            f"collector: {cost.core_percent:.2f}% of one core at a {SCRAPE_INTERVAL_S:g} s scrape"
            f" ({cost.cpu_seconds * 1e3:.0f} ms CPU over {cost.seconds:.1f} s,"
            f" {cost.scrapes} scrapes, {system} idle); goal < 1%"
        )
        on: list[float] = []
        off: list[float] = []
        for n in range(rounds):  # interleaved, so drifts in the VM's speed hit both alike
            off.append(worker_cpu_us(server.url, rate, seconds, False, run_dir))
            on.append(worker_cpu_us(server.url, rate, seconds, True, run_dir))
            print(f"  round {n + 1}: worker CPU us/request off {off[-1]:.1f}, on {on[-1]:.1f}")
        med_on, med_off = statistics.median(on), statistics.median(off)
        spread = (max(off) - min(off)) / med_off if med_off else 0.0
        print(
            f"master plugin: worker CPU us/request median {med_on:.1f} with /metrics scraped"
            f" every second, {med_off:.1f} without; ratio {med_on / med_off:.3f}"
            f" (round-to-round spread without: {spread:.0%}; {rate} req/s, {rounds} rounds"
            f" of {seconds:g} s)"
        )
