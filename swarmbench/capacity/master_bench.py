"""The master benchmark: how many workers one Locust master core holds.

For each worker count N a real master (`locust -f locustfiles/http.py --master --headless`) is
pinned to one core and N simulated workers (swarmbench.capacity.workersim, a few processes on the
other cores) attach through Locust's own protocol. Over the run the master's CPU and RSS are read
with psutil; the simulated workers time the master's answer to each heartbeat (the queue in front
of its single message loop, which every report also waits in); Locust's log says whether any worker
was marked missing; the master's totals (swarmbench's latency JSON and Locust's --json-file) are
compared with the sum of what the simulated workers sent.

"Held" means: all N attached, none marked missing, totals exact, heartbeat round trip p99 under
HELD_RTT_S and the master's CPU under HELD_CPU_PERCENT of its core (beyond that its queue only
grows, and a longer run would lose workers). Round trips and CPU are taken over the steady part
of the run (from SETTLE_S after all users spawned to a second before the run time ends); the
simulators' own CPU and loop lag are shown too: a simulator whose loop runs late reads the
master's answers late, and its lag is in the round trips (workersim.LAG_PROBE_S).
"""

from __future__ import annotations

import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from swarmbench.engine.worker_report import MAX_NAMES
from swarmbench.errors import UsageError
from swarmbench.generators.locust import locust_command
from swarmbench.util import atomic, options, paths, pinning, processes, typed

#: Workers per simulator process: its gevent loop stays well under one core at this count.
WORKERS_PER_PROCESS = 250
#: File descriptors a simulated worker holds: its own ZeroMQ context (epoll, mailboxes) and
#: its TCP connection (measured: 6 before connecting, 7 after).
FDS_PER_SIM_WORKER = 8
#: The master holds one TCP connection per worker, plus its own files and sockets.
FDS_PER_MASTER_WORKER = 1
FDS_SPARE = 128
#: Request names a simulated worker splits its load over, each merged apart by the master.
NAMES = options.Limit(MAX_NAMES, "the master keeps that many request names apart")
HELD_RTT_S = 1.0
HELD_CPU_PERCENT = 90.0
#: After the last worker connects, the master needs this long to spawn and settle.
SETTLE_S = 2.0
SAMPLE_INTERVAL_S = 1.0
#: Locust logs one of these when the spawn is done; the second when the workers' confirmations
#: were still queued at the master after its wait (the run goes on all the same).
SPAWNED_LOGS = ("All users spawned", "Spawning is complete")
MISSING_LOG = "setting state to missing"
#: A dummy target: the simulated workers never send it a request.
DUMMY_HOST = "http://127.0.0.1:9/"


@dataclass
class Row:
    """One worker count's results."""

    workers: int
    attached: bool
    attach_s: float
    cpu_percent: float
    cpu_peak_percent: float
    #: share of the run the master was ready to run but another process held its core
    cpu_wait_percent: float
    rss_peak_bytes: int
    rtt_p50_ms: float
    rtt_p99_ms: float
    rtt_max_ms: float
    sim_cpu_percent: float
    #: how late the simulators' loops ran a due greenlet, p99: a round trip includes this much
    #: of the harness's own delay in reading the master's answer
    sim_lag_p99_ms: float
    missing: int
    sent_requests: int
    master_requests: int
    locust_requests: int
    #: totals and every request name's count alike in what was sent, the master's latency JSON
    #: and Locust's own stats
    exact: bool
    #: request names the master's latency JSON holds
    names: int
    report_bytes_median: int
    report_bytes_max: int

    @property
    def held(self) -> bool:
        return (
            self.attached
            and self.missing == 0
            and self.exact
            and self.rtt_p99_ms < HELD_RTT_S * 1000
            and self.cpu_percent < HELD_CPU_PERCENT
        )


@dataclass
class Settings:
    duration_s: float
    rate_per_worker: float
    master_cpu: int
    sim_cpus: tuple[int, ...]
    workdir: Path
    attach_timeout_s: float = 120.0
    #: request names each simulated worker's load is split over
    names: int = 1


def fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def sim_processes(workers: int) -> int:
    return max(1, math.ceil(workers / WORKERS_PER_PROCESS))


def check_fds(counts: Sequence[int], limit: int | None = None) -> None:
    """Refuse a worker count this machine's open-file limit cannot hold, before starting."""
    soft = fd_limit() if limit is None else limit
    for n in counts:
        per_sim = math.ceil(n / sim_processes(n)) * FDS_PER_SIM_WORKER + FDS_SPARE
        master = n * FDS_PER_MASTER_WORKER + FDS_SPARE
        if max(per_sim, master) > soft:
            raise UsageError(
                f"--workers {n} needs about {max(per_sim, master)} open files per process but "
                f"the limit is {soft}; raise it with `ulimit -n {max(per_sim, master) * 2}`"
            )


def pick_cpus(master: int | None = None) -> tuple[int, tuple[int, ...]]:
    """(master CPU, simulator CPUs): the master alone on its core (default: the first)."""
    cpus = pinning.available_cpus()
    if len(cpus) < 2:
        raise UsageError("master-bench needs two CPUs: one for the master, one for the workers")
    if master is None:
        master = cpus[0]
    if master not in cpus:
        raise UsageError(f"--master-cpu {master}: this process may use CPUs {cpus}")
    return master, tuple(c for c in cpus if c != master)


def master_command(n: int, port: int, s: Settings) -> list[str]:
    return locust_command(
        "KeepAliveUser",
        role="master",
        master_port=port,
        expect_workers=n,
        users=n,
        run_time_s=s.duration_s,
        host=DUMMY_HOST,
        latency_json=s.workdir / f"master-{n}-latency.json",
        metrics_bind="",
        extra=(
            "--expect-workers-max-wait", str(int(s.attach_timeout_s)),
            "--json-file", str(s.workdir / f"master-{n}-locust"),
        ),
    )  # fmt: skip


def sim_command(n: int, index: int, count: int, port: int, s: Settings) -> list[str]:
    return [
        sys.executable, "-m", "swarmbench.capacity.workersim", "--port", str(port),
        "--workers", str(count), "--prefix", f"sim{n}p{index}", "--seed", str(index + 1),
        "--rate-per-worker", repr(s.rate_per_worker), "--names", str(s.names),
        "--max-seconds", repr(s.attach_timeout_s + s.duration_s + 60),
        "--out", str(sim_out(n, index, s)),
    ]  # fmt: skip


def sim_out(n: int, index: int, s: Settings) -> Path:
    return s.workdir / f"sim-{n}-{index}.json"


@contextmanager
def _started(commands: Sequence[tuple[list[str], Sequence[int], Path]]) -> Iterator[list[Any]]:
    """Start each (argv, cpus, log) pinned; stop by PID whatever happens."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for argv, cpus, log in commands:
            with log.open("wb") as fh:
                procs.append(
                    processes.spawn(
                        argv, cpus=cpus, stdout=fh, stderr=subprocess.STDOUT, cwd=paths.ROOT
                    )
                )
        yield procs
    finally:
        for proc in procs:
            processes.stop(proc)


@dataclass
class _Samples:
    times: list[float]
    cpu: list[float]
    rss: list[int]
    sim_cpu: list[float]
    wait: list[float]
    spawned_at: float | None = None
    started_at: float = 0.0

    def epoch(self, monotonic: float) -> float:
        return monotonic + time.time() - time.monotonic()


def _cpu_s(proc: psutil.Process) -> float:
    try:
        t = proc.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(t.user + t.system)


def _runqueue_wait_s(pid: int) -> float:
    """Seconds the process has waited on a run queue (/proc/PID/schedstat, Linux)."""
    try:
        fields = Path(f"/proc/{pid}/schedstat").read_text().split()
    except OSError:
        return math.nan
    return int(fields[1]) / 1e9


def _watch(procs: Sequence[subprocess.Popen[bytes]], log: Path, deadline: float) -> _Samples:
    """Sample the master's (procs[0]) and simulators' CPU each second until the master exits."""
    master, *sims = [psutil.Process(p.pid) for p in procs]
    out = _Samples([], [], [], [], [], started_at=time.monotonic())
    while procs[0].poll() is None and time.monotonic() < deadline:
        try:
            t = master.cpu_times()
            rss = master.memory_info().rss
        except psutil.NoSuchProcess:
            break
        out.times.append(time.monotonic())
        out.cpu.append(t.user + t.system)
        out.rss.append(rss)
        out.sim_cpu.append(sum(_cpu_s(sim) for sim in sims))
        out.wait.append(_runqueue_wait_s(master.pid))
        if out.spawned_at is None:
            text = log.read_text(errors="replace")
            if any(line in text for line in SPAWNED_LOGS):
                out.spawned_at = time.monotonic()
        time.sleep(SAMPLE_INTERVAL_S)
    return out


def _window(samples: _Samples, duration_s: float) -> tuple[float, float]:
    """(start, end) monotonic of the steady part: all workers running, ramp-up and stop out."""
    if samples.spawned_at is None:
        return math.nan, math.nan
    return samples.spawned_at + SETTLE_S, samples.spawned_at + duration_s - 1


def _cpu(samples: _Samples, cpu: Sequence[float], duration_s: float) -> tuple[float, float]:
    """(mean, peak 1-s) CPU % of one core over the steady window."""
    start, end = _window(samples, duration_s)
    idx = [i for i, t in enumerate(samples.times) if start <= t <= end]
    if len(idx) < 2:
        return math.nan, math.nan
    first, last = idx[0], idx[-1]
    mean = 100 * (cpu[last] - cpu[first]) / (samples.times[last] - samples.times[first])
    steps = [
        100 * (cpu[i + 1] - cpu[i]) / (samples.times[i + 1] - samples.times[i]) for i in idx[:-1]
    ]
    return mean, max(steps)


def run_one(n: int, s: Settings) -> Row:
    port = processes.free_port()
    master_log = s.workdir / f"master-{n}.log"
    procs = sim_processes(n)
    shares = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    commands: list[tuple[list[str], Sequence[int], Path]]
    commands = [(master_command(n, port, s), (s.master_cpu,), master_log)]
    commands += [
        (sim_command(n, i, k, port, s), s.sim_cpus, s.workdir / f"sim-{n}-{i}.log")
        for i, k in enumerate(shares)
    ]
    deadline = time.monotonic() + s.attach_timeout_s + s.duration_s + 60
    with _started(commands) as started:
        samples = _watch(started, master_log, deadline)
        for proc in started[1:]:
            proc.wait(timeout=max(deadline - time.monotonic(), 1) + 20)
    return _row(n, s, samples, master_log, procs)


def _row(n: int, s: Settings, samples: _Samples, master_log: Path, procs: int) -> Row:
    sims = [_read_json(sim_out(n, i, s)) for i in range(procs)]
    workers = {wid: w for sim in sims for wid, w in sim.get("workers", {}).items()}
    start, end = (samples.epoch(t) for t in _window(samples, s.duration_s))
    rtts = sorted(x for w in workers.values() for t, x in w["rtt_s"] if start <= t <= end)
    lags = sorted(x for sim in sims for t, x in sim.get("lag_s", []) if start <= t <= end)
    sizes = sorted(x for w in workers.values() for x in w["report_bytes"])
    sent = sum(int(w["requests"]) for w in workers.values())
    latency = _read_json(s.workdir / f"master-{n}-latency.json")
    entries = _read_json(s.workdir / f"master-{n}-locust.json") or []
    locust_requests = sum(int(e["num_requests"]) for e in entries)
    master_requests = int(latency.get("requests", -1))
    sent_by_name: dict[str, int] = {}
    for w in workers.values():
        for name, count in w.get("by_name", {}).items():
            sent_by_name[name] = sent_by_name.get(name, 0) + int(count)
    master_by_name = {e["name"]: int(e["requests"]) for e in latency.get("by_name", [])}
    locust_by_name = {e["name"]: int(e["num_requests"]) for e in entries}
    cpu, peak = _cpu(samples, samples.cpu, s.duration_s)
    sim_cpu, _ = _cpu(samples, samples.sim_cpu, s.duration_s)
    wait, _ = _cpu(samples, samples.wait, s.duration_s)
    log_text = master_log.read_text(errors="replace")
    missing = max(log_text.count(MISSING_LOG), len(latency.get("workers_lost", [])))
    return Row(
        workers=n,
        attached=samples.spawned_at is not None and len(workers) == n,
        attach_s=round((samples.spawned_at or math.nan) - samples.started_at, 1),
        cpu_percent=round(cpu, 1),
        cpu_peak_percent=round(peak, 1),
        cpu_wait_percent=round(wait, 1),
        rss_peak_bytes=max(samples.rss, default=0),
        rtt_p50_ms=round(1000 * _quantile(rtts, 0.5), 2),
        rtt_p99_ms=round(1000 * _quantile(rtts, 0.99), 2),
        rtt_max_ms=round(1000 * (rtts[-1] if rtts else math.nan), 2),
        sim_cpu_percent=round(sim_cpu, 1),
        sim_lag_p99_ms=round(1000 * _quantile(lags, 0.99), 2),
        missing=missing,
        sent_requests=sent,
        master_requests=master_requests,
        locust_requests=locust_requests,
        exact=sent > 0
        and sent == master_requests == locust_requests
        and sent_by_name == master_by_name == locust_by_name,
        names=len(master_by_name),
        report_bytes_median=int(statistics.median(sizes)) if sizes else 0,
        report_bytes_max=sizes[-1] if sizes else 0,
    )


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    return values[min(len(values) - 1, int(q * len(values)))]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def largest_held(rows: Sequence[Row]) -> int | None:
    """The largest N held, provided every smaller N measured was held too."""
    best = None
    for row in sorted(rows, key=lambda r: r.workers):
        if not row.held:
            break
        best = row.workers
    return best


def projected_workers(rows: Sequence[Row]) -> tuple[float, int] | None:
    """(master CPU microseconds per worker-second, workers at HELD_CPU_PERCENT of a dedicated
    core) from the largest N held: a linear projection, not a measurement."""
    held = [r for r in rows if r.held and r.workers == largest_held(rows)]
    if not held or not held[0].cpu_percent > 0:
        return None
    row = held[0]
    per_worker_us = 1e4 * row.cpu_percent / row.workers
    return per_worker_us, int(HELD_CPU_PERCENT * 1e4 / per_worker_us)


def run(counts: Sequence[int], s: Settings, progress: Callable[[Row], None]) -> list[Row]:
    rows = []
    for n in counts:
        row = run_one(n, s)
        rows.append(row)
        progress(row)
    return rows


def write_json(path: Path, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    data = {
        **meta,
        "rows": [{**asdict(r), "held": r.held} for r in rows],
        "largest_held": largest_held(rows),
    }
    atomic.write_text(path, json.dumps(typed.json_ready(data), indent=2, default=str) + "\n")


def cpu_count_note() -> str:
    return f"{os.cpu_count()} CPUs, open-file limit {fd_limit()}"
