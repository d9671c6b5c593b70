"""The cluster backend of `swarmbench bench --inventory FILE`: the same cells on Ansible's hosts.

At start, playbooks/cluster.yml provisions (idempotent: an up-to-date cluster changes nothing)
with the run's first system and every system of the run shipped; each system switch reruns it
limited to the targets. Load goes only to the `targets` group's first host, at its cluster
address. Locust cells drive the master's web API through an SSH tunnel to its loopback UI;
wrk and ab cells run on the first worker over SSH (swarmbench.loadgen). The target's CPU,
memory and threads come from the monitor's Prometheus, which scrapes the target's collector.
"""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmbench import cluster_locust, generators, loadgen, paths, targetproc
from swarmbench.bench_backend import Backend
from swarmbench.errors import UsageError
from swarmbench.inventory import Inventory
from swarmbench.matrix import BenchConfig
from swarmbench.pinning import Placement
from swarmbench.prometheus import PrometheusAPI, PrometheusError, values, window_cost
from swarmbench.sampler import TreeUsage

log = logging.getLogger(__name__)

PLAYBOOK_TIMEOUT_S = 900.0
TUNNEL_TIMEOUT_S = 30.0
#: Prometheus on the monitor scrapes every second; wait past one more scrape.
SCRAPE_SETTLE_S = 1.25
#: How long a new system's collector may take to show up in Prometheus.
SERIES_TIMEOUT_S = 30.0
SSH_GRACE_S = 90.0
_MSG = re.compile(r'(?:FAILED|UNREACHABLE)! => .*?"msg": ("(?:[^"\\]|\\.)*")')


def _playbook_message(text: str) -> str:
    """The playbook's own one-line reason (its checks name the group, host or system).

    A module's error that a check then names (an SSH timeout, say) reappears inside the
    check's message: the longest message that no other contains is the one naming what went
    wrong.
    """
    found = [str(json.loads(m)).strip() for m in _MSG.findall(text)]
    found = [m for m in found if m and not any(m != other and m in other for other in found)]
    if found:
        return max(found, key=len).splitlines()[0]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_playbook(inv: Inventory, log_dir: Path, name: str, *args: str) -> None:
    """ansible-playbook on the inventory; output in RUN/ansible/NAME.log; UsageError on failure."""
    log_dir.mkdir(parents=True, exist_ok=True)
    ansible = Path(sys.executable).with_name("ansible-playbook")
    cmd = [str(ansible), "-i", str(inv.path), str(paths.ROOT / "playbooks" / "cluster.yml"), *args]
    log_file = log_dir / f"{name}.log"
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"ansible-playbook ({name}) took over {PLAYBOOK_TIMEOUT_S:g} s") from None
    log_file.write_text(f"$ {' '.join(cmd)}\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")
    if proc.returncode != 0:
        reason = _playbook_message(proc.stdout + "\n" + proc.stderr)
        raise UsageError(f"ansible-playbook ({name}) failed: {reason} (log: {log_file})")
    log.info("ansible-playbook %s: %.1f s", name, time.monotonic() - started)


@dataclass
class RemoteUsage:
    """The target's figures over [start, stop] from the monitor's Prometheus."""

    prom: PrometheusAPI
    system: str
    start: float = field(default_factory=time.time)

    def _max(self, expr: str, window_s: int, at: float) -> float | None:
        found = values(self.prom.query(f"max(max_over_time({expr}[{window_s}s]))", at=at))
        return found[0] if found else None

    def stop(self) -> TreeUsage:
        end = time.time()
        time.sleep(SCRAPE_SETTLE_S)
        at = end + SCRAPE_SETTLE_S
        window = max(1, math.ceil(at - self.start))
        sel = f'{{system="{self.system}"}}'
        try:
            cost = window_cost(self.prom, self.system, self.start, at)
            rss = self._max(f"swarmbench_target_resident_memory_bytes{sel}", window, at)
            threads = self._max(f"swarmbench_target_threads{sel}", window, at)
            up = values(
                self.prom.query(f"min(min_over_time(swarmbench_target_up{sel}[{window}s]))", at=at)
            )
        except (PrometheusError, OSError) as exc:
            log.warning("target figures from Prometheus: %s", exc)
            return TreeUsage(0.0, 0, 0, alive=True)
        return TreeUsage(
            cost.cpu_seconds if cost else 0.0,
            int(rss or 0),
            int(threads or 0),
            alive=not up or up[0] >= 1,
        )


@dataclass
class RemoteTarget:
    host: str
    address: str
    port: int
    system: str
    prom: PrometheusAPI

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/"

    def alive(self) -> bool:
        try:
            with socket.create_connection((self.address, self.port), timeout=2):
                return True
        except OSError:
            return False

    def usage(self) -> RemoteUsage:
        return RemoteUsage(self.prom, self.system)


@dataclass
class ClusterBackend:
    inv: Inventory
    config: BenchConfig
    log_dir: Path
    master: cluster_locust.RemoteMaster
    prom: PrometheusAPI
    system: str
    extra_vars: list[str]

    locust_bind = ""  # the master's exporter is fixed by the playbook

    @property
    def prometheus(self) -> PrometheusAPI:
        return self.prom

    def prometheus_down(self) -> str | None:
        return None

    @property
    def target_host(self) -> str:
        return self.inv.one("targets")

    @contextmanager
    def target(self, system: str) -> Iterator[RemoteTarget]:
        if system != self.system:
            limit = f"localhost,{','.join(self.inv.groups['targets'])}"
            run_playbook(
                self.inv, self.log_dir, f"switch-{system}", "-e", f"system={system}",
                *self.extra_vars, "--limit", limit,
            )  # fmt: skip
            self.system = system
        host = self.target_host
        port = int(self.inv.var(host, "targets_port", 8080))
        target = RemoteTarget(host, self.inv.address(host), port, system, self.prom)
        _wait_series(self.prom, system)
        yield target  # the playbook owns the server: it keeps running between cells

    def run_generator(
        self, generator: generators.Generator, spec: generators.LoadSpec, workdir: Path
    ) -> generators.GeneratorRun:
        if isinstance(generator, generators.Locust):
            return cluster_locust.run_locust(self.master, generator, spec, workdir)
        return self._run_on_worker(generator, spec, workdir)

    def _run_on_worker(
        self, generator: generators.Generator, spec: generators.LoadSpec, workdir: Path
    ) -> generators.GeneratorRun:
        """wrk or ab on the first worker host: its installed swarmbench runs and parses it."""
        worker = self.inv.one("workers")
        root = str(self.inv.var(worker, "common_install_root", "/opt/swarmbench"))
        spec_arg = _quote(loadgen.spec_json(spec))
        remote = f"{root}/venv/bin/python -m swarmbench.loadgen {spec_arg} {generator.name}"
        cmd = [*self.inv.ssh_command(worker), remote]
        workdir.mkdir(parents=True, exist_ok=True)
        timeout = max(spec.duration_s, spec.time_limit_s or 0) + generators.GRACE_S + SSH_GRACE_S
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{generator.name} on {worker} did not finish in time") from None
        (workdir / f"{generator.name}.out").write_text(
            proc.stdout + "\n--- stderr ---\n" + proc.stderr
        )
        if proc.returncode != 0:
            tail = " | ".join(proc.stderr.strip().splitlines()[-2:]) or f"exit {proc.returncode}"
            raise RuntimeError(f"{generator.name} on {worker}: {tail}")
        run = loadgen.result_from_json(proc.stdout.strip().splitlines()[-1])
        run.details["host"] = worker
        return run

    def describe(self) -> dict[str, Any]:
        return {"backend": "ansible", "inventory": str(self.inv.path), "hosts": self.inv.by_group()}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _wait_series(prom: PrometheusAPI, system: str) -> None:
    """The system's collector is scraped: a window starting now has its first sample."""
    deadline = time.monotonic() + SERIES_TIMEOUT_S
    query = f'swarmbench_target_up{{system="{system}"}} == 1'
    while time.monotonic() < deadline:
        try:
            if prom.query(query):
                return
        except (PrometheusError, OSError):
            pass
        time.sleep(0.5)
    raise UsageError(f"the monitor's Prometheus ({prom.url}) has no live {system} target")


def _expected_workers(inv: Inventory) -> int:
    """Worker processes the playbook starts, where the inventory says; else one per host."""
    total = 0
    for host in inv.groups["workers"]:
        value = str(inv.var(host, "workers_processes", "1"))
        total += int(value) if value.isdigit() else 1
    return total


@contextmanager
def tunnel(inv: Inventory, log_dir: Path) -> Iterator[str]:
    """ssh -L to the master's loopback web UI; yields the local URL, stops ssh by PID."""
    master = inv.one("master")
    web_host = str(inv.var(master, "master_web_host", "127.0.0.1"))
    web_port = int(inv.var(master, "master_web_port", 8089))
    local = targetproc.free_port()
    cmd = inv.ssh_command(master, "ExitOnForwardFailure=yes", "ServerAliveInterval=5")
    cmd[1:1] = ["-N", "-L", f"127.0.0.1:{local}:{web_host}:{web_port}"]
    with (log_dir / "tunnel.log").open("ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{local}"
    try:
        probe = cluster_locust.RemoteMaster(url, 0)
        deadline = time.monotonic() + TUNNEL_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise UsageError(
                    f"SSH tunnel to the master {master} failed: see {log_dir / 'tunnel.log'}"
                )
            try:
                probe.stats()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise UsageError(
                        f"the Locust master's web UI on {master} did not answer through SSH"
                    ) from None
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def opener(inv: Inventory) -> Any:
    """A bench.BackendOpener for this inventory."""

    @contextmanager
    def open_cluster(config: BenchConfig, placement: Placement, rundir: Path) -> Iterator[Backend]:
        log_dir = rundir / "ansible"
        extra = ["-e", json.dumps({"common_extra_systems": list(config.systems)})]
        first = config.systems[0]
        run_playbook(inv, log_dir, "provision", "-e", f"system={first}", *extra)
        monitor = inv.one("monitor")
        port = int(inv.var(monitor, "monitor_prometheus_port", 9090))
        prom = PrometheusAPI(f"http://{inv.address(monitor)}:{port}")
        with tunnel(inv, log_dir) as url:
            master = cluster_locust.RemoteMaster(url, _expected_workers(inv))
            yield ClusterBackend(inv, config, log_dir, master, prom, first, extra)

    return open_cluster
