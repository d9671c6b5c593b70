"""The cluster backend of `swarmbench bench --inventory FILE`: the same cells on Ansible's hosts.

At start, playbooks/cluster.yml provisions (idempotent: an up-to-date cluster changes nothing)
with the run's first system and every system of the run shipped; each system switch reruns it
limited to the targets. With --no-provision that first run is skipped (the cluster is as the
last run of the playbook left it) and the first cell switches the target if it serves another
system. Load goes only to the `targets` group's first host, at its cluster
address, which must be where the playbook bound it (target_check, before the first cell).
Locust cells drive the master's web API through an SSH tunnel, logged in (web_access);
wrk and ab cells run on the first worker over SSH (swarmbench.cluster.loadgen). The target's CPU,
memory and threads come from the monitor's Prometheus, which scrapes the target's collector.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from swarmbench.bench.backend import Backend
from swarmbench.bench.matrix import BenchConfig
from swarmbench.cluster import loadgen, master_api
from swarmbench.cluster.inventory import Inventory
from swarmbench.cluster.playbook import run_playbook
from swarmbench.cluster.ssh import open_master
from swarmbench.cluster.target_check import allowlist_path, check_target
from swarmbench.errors import UsageError
from swarmbench.generators.locust import Locust
from swarmbench.generators.runner import GRACE_S
from swarmbench.generators.spec import Generator, GeneratorRun, LoadSpec
from swarmbench.telemetry import queries
from swarmbench.telemetry.metrics import SCRAPE_SETTLE_S
from swarmbench.telemetry.prometheus import PrometheusAPI, PrometheusError
from swarmbench.telemetry.sampler import TreeUsage
from swarmbench.util import processes

log = logging.getLogger(__name__)

#: How long a new system's collector may take to show up in Prometheus.
SERIES_TIMEOUT_S = 30.0
SSH_GRACE_S = 90.0


@dataclass
class RemoteUsage:
    """The target's figures over [start, stop] from the monitor's Prometheus."""

    prom: PrometheusAPI
    system: str
    start: float = field(default_factory=time.time)

    def stop(self) -> TreeUsage:
        end = time.time()
        time.sleep(SCRAPE_SETTLE_S)
        at = end + SCRAPE_SETTLE_S
        try:
            cost = queries.window_cost(self.prom, self.system, self.start, at)
            peaks = queries.target_peaks(self.prom, self.system, self.start, at)
        except (PrometheusError, OSError) as exc:
            log.warning("target figures from Prometheus: %s", exc)
            reason = f"the monitor's Prometheus could not be read: {exc}"
            return TreeUsage(None, None, None, alive=None, unknown_reason=reason)
        missing = [
            what
            for what, value in (("CPU", cost), ("RSS", peaks.rss_bytes), ("threads", peaks.threads))
            if value is None
        ]
        return TreeUsage(
            cost.cpu_seconds if cost else None,
            None if peaks.rss_bytes is None else int(peaks.rss_bytes),
            None if peaks.threads is None else int(peaks.threads),
            alive=peaks.always_up,
            unknown_reason=f"no {', '.join(missing)} series from {self.system}'s collector "
            "in the window"
            if missing
            else None,
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
    master: master_api.RemoteMaster
    prom: PrometheusAPI
    system: str
    extra_vars: list[str]

    locust_bind = ""  # the master's exporter is fixed by the playbook
    #: one system at a time on the target host, and a switch reruns the playbook: rounds run
    #: system-major
    concurrent_targets = False
    interleave = False

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

    def run_generator(self, generator: Generator, spec: LoadSpec, workdir: Path) -> GeneratorRun:
        if isinstance(generator, Locust):
            return master_api.run_locust(self.master, generator, spec, workdir)
        return self._run_on_worker(generator, spec, workdir)

    def _run_on_worker(self, generator: Generator, spec: LoadSpec, workdir: Path) -> GeneratorRun:
        """wrk or ab on the first worker host: its installed swarmbench runs and parses it."""
        worker = self.inv.one("workers")
        root = str(self.inv.var(worker, "common_install_root", "/opt/swarmbench"))
        spec_arg = _quote(loadgen.spec_json(spec))
        remote = f"{root}/venv/bin/python -m swarmbench.cluster.loadgen {spec_arg} {generator.name}"
        flags = f"{loadgen.WATCH_STDIN} {loadgen.ALLOWLIST}{allowlist_path(self.inv, worker)}"
        cmd = [*self.inv.ssh_command(worker), f"{remote} {flags}"]
        workdir.mkdir(parents=True, exist_ok=True)
        timeout = max(spec.duration_s, spec.time_limit_s or 0) + GRACE_S + SSH_GRACE_S
        out_path, err_path = workdir / f"{generator.name}.out", workdir / f"{generator.name}.err"
        with out_path.open("w") as out, err_path.open("w") as err:
            returncode = _run_remote(cmd, out, err, timeout, f"{generator.name} on {worker}")
        stdout, stderr = out_path.read_text(), err_path.read_text()
        if returncode != 0:
            tail = " | ".join(stderr.strip().splitlines()[-2:]) or f"exit {returncode}"
            raise RuntimeError(f"{generator.name} on {worker}: {tail}")
        run = loadgen.result_from_json(stdout.strip().splitlines()[-1])
        run.details["host"] = worker
        return run

    def describe(self) -> dict[str, Any]:
        return {**describe(self.inv), "hosts": self.inv.by_group()}


def _run_remote(cmd: list[str], out: IO[str], err: IO[str], timeout: float, what: str) -> int:
    """ssh with its stdin held open: the remote loadgen stops its tool when stdin ends, so
    Ctrl-C, a timeout or a killed bench (its reaper stops ssh) stop the remote run too."""
    proc = processes.spawn(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err, text=True)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} did not finish in time") from None
    finally:
        processes.stop(proc)
        if proc.stdin is not None:
            proc.stdin.close()


def describe(inv: Inventory) -> dict[str, Any]:
    """What run.json records of the backend, and what a resume must find unchanged."""
    return {"backend": "ansible", "inventory": str(inv.path)}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _wait_series(prom: PrometheusAPI, system: str) -> None:
    """The system's collector is scraped: a window starting now has its first sample."""
    deadline = time.monotonic() + SERIES_TIMEOUT_S
    query = queries.target_up_now(system)
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


def _running_system(prom: PrometheusAPI, systems: Iterable[str]) -> str:
    """The run's system the target host serves now, or "" (none, or Prometheus cannot say)."""
    for system in systems:
        try:
            if prom.query(queries.target_up_now(system)):
                return system
        except (PrometheusError, OSError):
            return ""
    return ""


def opener(inv: Inventory, provision: bool = True) -> Any:
    """A bench.BackendOpener for this inventory; provision=False (--no-provision) takes the
    cluster as the last playbook run left it and switches the target only if it must."""

    @contextmanager
    def open_cluster(config: BenchConfig, rundir: Path) -> Iterator[Backend]:
        log_dir = rundir / "ansible"
        log_dir.mkdir(parents=True, exist_ok=True)  # the tunnel's log too, provisioned or not
        # The user's registry and locustfile ride along on every run of the playbook: a switch
        # must not take them away (their absence would restart the master and workers).
        settings = {
            "common_extra_systems": list(config.systems),
            "common_targets_file": str(Path(config.targets_file).resolve())
            if config.targets_file
            else "",
            "common_user_locustfile": config.locustfile or "",
        }
        extra = ["-e", json.dumps(settings)]
        system = config.systems[0]
        if provision:
            run_playbook(inv, log_dir, "provision", "-e", f"system={system}", *extra)
        target = inv.one("targets")
        port = int(inv.var(target, "targets_port", 8080))
        try:
            check_target(inv, f"http://{inv.address(target)}:{port}/")
        except UsageError as exc:
            if provision:
                raise
            raise UsageError(f"{exc} (provisioned? run without --no-provision)") from None
        monitor = inv.one("monitor")
        port = int(inv.var(monitor, "monitor_prometheus_port", 9090))
        prom = PrometheusAPI(f"http://{inv.address(monitor)}:{port}")
        if not provision:
            # "": the first cell's target() switches to its system, as between systems.
            system = _running_system(prom, config.systems)
            log.info("provisioning skipped (--no-provision); serving now: %s", system or "none")
        with open_master(inv, log_dir, _expected_workers(inv)) as master:
            yield ClusterBackend(inv, config, log_dir, master, prom, system, extra)

    return open_cluster
