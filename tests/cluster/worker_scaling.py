"""Benchmark: the generator capacity of 2 Locust workers against 1, on the namespaced hosts.

    .venv/bin/python tests/cluster/worker_scaling.py [--rounds 5] [--duration 5] [--worker-cpu 0.4]

It creates the five hosts of hosts.py (master, 2 workers, target, monitor), provisions them with
playbooks/cluster.yml and drives the master's web API as `swarmbench bench --inventory` does.
This machine has two cores for everything, so the two configurations differ only in the number
of workers: each worker process gets the same CPU quota on core 0 (a cgroup: `--worker-cpu` of a
core), the master runs on core 0 too, the target host's processes on core 1, where even two
workers' load leaves the server most of its core. Rounds alternate the order (1 then 2, 2 then
1, ...) so drift on a shared machine hits both alike. It prints every run, the workers' and the
target's CPU (the quota must bind, the target must not), the ratio of the medians, each round's
ratio, and requests per worker CPU-second; a run whose workers got under 85% of their quota was
paced by other load and is left out.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))

import hosts  # the harness beside this file

from swarmbench.cluster import inventory, master_api
from swarmbench.cluster.ssh import open_master
from swarmbench.generators.locust import Locust
from swarmbench.generators.spec import LoadSpec
from swarmbench.util import pinning

WORKERS = hosts.GROUPS["workers"]
MASTER, TARGET = hosts.GROUPS["master"][0], hosts.GROUPS["targets"][0]
GENERATOR_CORE, TARGET_CORE = 0, 1
CFS_PERIOD_US = 10_000  # a short period: throttling in small steps, not 100 ms stalls
WORKERS_TIMEOUT_S = 60.0
#: A run whose workers got less of their quota than this was paced by other load, not the quota.
STARVED_SHARE = 0.85
# The service commands of roles/common/tasks/service_daemon.yml, for hosts without systemd.
_RUN, _LOG, _ROOT = "/run/swarmbench", "/var/log/swarmbench", "/opt/swarmbench"
STOP_WORKER = f"{_ROOT}/services/stop-service.sh {_RUN}/worker.pid"
START_WORKER = (
    f"start-stop-daemon --start --background --make-pidfile --pidfile {_RUN}/worker.pid"
    f" --output {_LOG}/worker.log --chuid swarmbench:swarmbench"
    f" --startas /usr/bin/setsid -- {_ROOT}/services/worker.sh"
)


def _worker_command(host: hosts.Host, *, start: bool) -> str:
    if host.systemd:
        return f"systemctl {'start' if start else 'stop'} swarmbench-worker"
    return START_WORKER if start else STOP_WORKER


class CpuQuota:
    """One cgroup per worker host, each limited to `cores` of a core (cgroup v1 or v2)."""

    def __init__(self, cores: float) -> None:
        self.cores = cores
        base = cgroup_base()
        if base is None:
            raise RuntimeError("no cgroup CPU controller to give each worker its quota")
        self.base = base
        self.v2 = (self.base / "cgroup.controllers").exists()
        self.made: list[Path] = []

    def limit(self, name: str, pids: list[int]) -> None:
        group = self.base / f"sb-scaling-{name}"
        if not group.exists():
            group.mkdir()
            self.made.append(group)
            quota = max(1000, round(self.cores * CFS_PERIOD_US))
            if self.v2:
                (group / "cpu.max").write_text(f"{quota} {CFS_PERIOD_US}\n")
            else:
                (group / "cpu.cfs_period_us").write_text(f"{CFS_PERIOD_US}\n")
                (group / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, OSError):
                (group / "cgroup.procs").write_text(f"{pid}\n")

    def remove(self) -> None:
        """Move what is left back to where this process lives, then delete the groups."""
        for group in self.made:
            with contextlib.suppress(OSError):
                for pid in (group / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        (self.base / "cgroup.procs").write_text(f"{pid}\n")
            for _ in range(50):
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def cgroup_base() -> Path | None:
    """The cgroup this process is in, under the mount that controls CPU time; None: none here."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return Path("/sys/fs/cgroup/cpu") / path.lstrip("/")
    unified = Path("/sys/fs/cgroup")
    with contextlib.suppress(OSError):
        if "cpu" in (unified / "cgroup.controllers").read_text().split():
            path = next(line.split(":", 2)[2] for line in lines if line.startswith("0::"))
            return unified / path.lstrip("/")
    return None


def host_pids(name: str, program: str = "") -> list[int]:
    """A namespaced host's processes (as this machine numbers them), sshd excepted; with
    `program`, only those whose command line names it."""
    out = subprocess.run(
        ["ip", "netns", "pids", hosts.PREFIX + name], capture_output=True, text=True, check=False
    ).stdout
    pids = []
    for pid in map(int, out.split()):
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if "sshd" not in process.name() and program in " ".join(process.cmdline()):
                pids.append(pid)
    return pids


def _pin(pids: list[int], cores: set[int]) -> None:
    """Every thread: a process's threads keep their own affinity."""
    for pid in pids:
        with contextlib.suppress(psutil.Error, OSError):
            for thread in psutil.Process(pid).threads():
                os.sched_setaffinity(thread.id, cores)


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


@dataclass
class Run:
    workers: int
    rps: float
    per_worker: dict[str, int]
    worker_cores: float  # the workers' CPU over the run, in cores
    target_cores: float


@dataclass
class _Scaling:
    cluster: hosts.Cluster
    master: master_api.RemoteMaster
    quota: CpuQuota
    url: str
    workdir: Path

    def use_workers(self, count: int) -> None:
        """Exactly the first `count` worker hosts connected to the master."""
        for index, name in enumerate(WORKERS):
            command = _worker_command(self.cluster.hosts[name], start=index < count)
            proc = self.cluster.ssh(name, command)
            if proc.returncode not in (0, 1):  # 1: it already ran / was not running
                raise RuntimeError(f"{name}: {command}: {proc.stderr.strip()}")
        deadline = time.monotonic() + WORKERS_TIMEOUT_S
        while len(self.master.connected_workers()) != count:
            if time.monotonic() > deadline:
                connected = self.master.connected_workers()
                raise RuntimeError(f"master has workers {connected}, wanted {count}")
            time.sleep(0.5)
        self.master.expected_workers = count

    def run(self, count: int, users_per_worker: int, duration_s: float, name: str) -> Run:
        self.use_workers(count)
        for host in WORKERS[:count]:
            pids = host_pids(host, "locust")
            _pin(pids, {GENERATOR_CORE})
            self.quota.limit(host, pids)
        _pin(host_pids(MASTER), {GENERATOR_CORE})
        target_pids = host_pids(TARGET)
        _pin(target_pids, {TARGET_CORE})
        spec = LoadSpec(
            url=self.url,
            keepalive=True,
            connections=users_per_worker * count,
            duration_s=duration_s,
            run_id="worker-scaling",
        )
        target_before = _cpu_seconds(target_pids)
        run = master_api.run_locust(self.master, Locust(), spec, self.workdir / name)
        target_cpu = _cpu_seconds(target_pids) - target_before
        workers = run.workers.items()
        window = run.duration_s or duration_s
        return Run(
            workers=count,
            rps=run.rps,
            per_worker={wid.split("_")[0]: int(w["requests"]) for wid, w in workers},
            worker_cores=run.cpu_seconds / window,
            # Over the whole call (spawning, the final reports) against the window: at most.
            target_cores=target_cpu / window,
        )


def measure(
    cluster: hosts.Cluster,
    inventory_path: Path,
    *,
    rounds: int,
    duration_s: float,
    users_per_worker: int,
    worker_cpu: float,
) -> list[Run]:
    """Alternating 1- and 2-worker runs on a provisioned cluster; every worker runs at the end."""
    inv = inventory.load(inventory_path)
    url = f"http://{inv.address(TARGET)}:{inv.var(TARGET, 'targets_port', 8080)}/"
    quota = CpuQuota(worker_cpu)
    runs: list[Run] = []
    workdir = Path(tempfile.mkdtemp(prefix=hosts.PREFIX + "scaling-"))
    try:
        with open_master(inv, workdir, len(WORKERS)) as master:
            scaling = _Scaling(cluster, master, quota, url, workdir)
            for index in range(rounds):
                for count in (1, 2) if index % 2 == 0 else (2, 1):
                    run = scaling.run(count, users_per_worker, duration_s, f"{index}-{count}")
                    print(_line(run, worker_cpu), flush=True)
                    runs.append(run)
            scaling.use_workers(len(WORKERS))
    finally:
        quota.remove()
        for name in WORKERS:  # as the playbook left them, also after a failure
            cluster.ssh(name, _worker_command(cluster.hosts[name], start=True))
        for name in (*WORKERS, MASTER, TARGET):
            _pin(host_pids(name), set(pinning.available_cpus()))
        shutil.rmtree(workdir, ignore_errors=True)
    return runs


def _starved(run: Run, worker_cpu: float) -> bool:
    """Other load took core 0 from the workers: the quota, not the machine, must set the pace."""
    return run.worker_cores < STARVED_SHARE * worker_cpu * run.workers


def _line(run: Run, worker_cpu: float) -> str:
    counts = " + ".join(f"{n} {c:,}" for n, c in sorted(run.per_worker.items()))
    starved = "  STARVED: other load took the workers' core" if _starved(run, worker_cpu) else ""
    return (
        f"{run.workers} worker(s): {run.rps:9,.0f} req/s  workers' CPU {run.worker_cores:.2f} cores"
        f"  target's CPU {run.target_cores:.2f} cores  ({counts}){starved}"
    )


def _medians(runs: list[Run], worker_cpu: float) -> tuple[float, float, int]:
    """Medians of the 1- and 2-worker runs, starved runs left out while each count keeps one."""
    kept = [r for r in runs if not _starved(r, worker_cpu)]
    if {r.workers for r in kept} != {1, 2}:
        kept = runs
    one = statistics.median(r.rps for r in kept if r.workers == 1)
    two = statistics.median(r.rps for r in kept if r.workers == 2)
    return one, two, len(runs) - len(kept)


def _paired_ratios(runs: list[Run], worker_cpu: float) -> list[float]:
    """2-worker over 1-worker req/s within each round (its two runs are adjacent in time)."""
    ratios = []
    for first, second in zip(runs[::2], runs[1::2], strict=False):
        if _starved(first, worker_cpu) or _starved(second, worker_cpu):
            continue
        one, two = sorted((first, second), key=lambda r: r.workers)
        ratios.append(two.rps / one.rps if one.rps else 0.0)
    return ratios


def _per_core(runs: list[Run], workers: int) -> float:
    """Requests per second of worker CPU: what one worker does with a whole core's time."""
    return statistics.median(r.rps / r.worker_cores for r in runs if r.workers == workers)


def summary(runs: list[Run], worker_cpu: float) -> str:
    one, two, left_out = _medians(runs, worker_cpu)
    target = max(r.target_cores for r in runs)
    starved = f", {left_out} starved run(s) left out" if left_out else ""
    paired = _paired_ratios(runs, worker_cpu)
    rounds = ", ".join(f"{r:.2f}" for r in paired)
    lines = [
        f"medians of {len(runs)} runs{starved}: 1 worker {one:,.0f} req/s,"
        f" 2 workers {two:,.0f} req/s -> {two / one if one else 0:.2f}x"
        f" (each worker held to {worker_cpu:g} of core {GENERATOR_CORE}; target on core"
        f" {TARGET_CORE}, busiest run {target:.2f} of it)",
        f"per round (adjacent runs): {rounds} -> median"
        f" {statistics.median(paired) if paired else 0:.2f}x",
        f"requests per worker CPU-second: 1 worker {_per_core(runs, 1):,.0f},"
        f" 2 workers {_per_core(runs, 2):,.0f}",
    ]
    return "\n".join(lines)


@contextlib.contextmanager
def provisioned_cluster(system: str) -> Iterator[tuple[hosts.Cluster, Path]]:
    cluster = hosts.create(
        hosts.INVENTORY_HOSTS, frozenset() if hosts.systemd_unavailable() else hosts.SYSTEMD_HOSTS
    )
    try:
        inventory_path = hosts.write_inventory(cluster)
        started = time.monotonic()
        proc, _ = hosts.Ansible(cluster).playbook(inventory_path, "-e", f"system={system}")
        if proc.returncode != 0:
            raise SystemExit(f"provisioning failed:\n{proc.stdout[-4000:]}")
        took = time.monotonic() - started
        print(f"provisioned {len(hosts.INVENTORY_HOSTS)} hosts in {took:.0f} s", flush=True)
        yield cluster, inventory_path
    finally:
        hosts.destroy(cluster)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each configuration")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--users-per-worker", type=int, default=16)
    parser.add_argument("--worker-cpu", type=float, default=0.4, help="each worker's CPU quota")
    parser.add_argument("--system", default="rust-std", help="the target server")
    args = parser.parse_args()
    reason = hosts.available() or (None if cgroup_base() else "no cgroup CPU controller here")
    if reason:
        raise SystemExit(f"worker_scaling: {reason}")
    with provisioned_cluster(args.system) as (cluster, inventory_path):
        runs = measure(
            cluster,
            inventory_path,
            rounds=args.rounds,
            duration_s=args.duration,
            users_per_worker=args.users_per_worker,
            worker_cpu=args.worker_cpu,
        )
    print(summary(runs, args.worker_cpu))


if __name__ == "__main__":
    main()
