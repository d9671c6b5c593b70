"""What runs for a whole local bench: Prometheus, a collector per system, their addresses.

Prometheus' discovery hands new file_sd targets to its scrapers only every 5 s, too slow to
register a collector per cell. So each system gets a fixed server port and a fixed collector
address, and the Locust master exporter a fixed address; all are registered once, before the
first cell. A system's collector starts just before its server and then runs as long as the
server does (the bench keeps every server up between its interleaved rounds): a collector whose
server is down looks for it at every scrape, and seven of them doing so cost most of a core
beside the generator, so none is started ahead of its server.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from swarmbench.errors import UsageError
from swarmbench.targets.registry import Target
from swarmbench.telemetry import metrics
from swarmbench.telemetry.prometheus import LocalPrometheus, PrometheusError
from swarmbench.util import processes

log = logging.getLogger(__name__)

DISCOVERY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0
COLLECTOR_START_TIMEOUT_S = 15.0


@dataclass
class BenchServices:
    target_ports: dict[str, int]
    locust_bind: str
    #: how each system's collector finds its server: --listen-port P or --pidfile F
    finders: dict[str, list[str]] = field(default_factory=dict)
    prometheus: LocalPrometheus | None = None
    #: why there is no Prometheus, for the cells' records and the report
    prometheus_note: str = ""
    collector_ports: dict[str, int] = field(default_factory=dict)
    log_dir: Path | None = None
    _collectors: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def collect(self, system: str) -> None:
        """Run `system`'s collector (once); a no-op without Prometheus."""
        if self.prometheus is None or self.log_dir is None:
            return
        running = self._collectors.get(system)
        if running is not None and running.poll() is None:
            return
        port = self.collector_ports[system]
        finder = self.finders.get(system) or ["--listen-port", str(self.target_ports[system])]
        proc = _start_collector(system, finder, port, self.log_dir)
        self._collectors[system] = proc
        # Serving before the target starts, so Prometheus has an idle sample before the load.
        try:
            processes.wait_listening("127.0.0.1", port, proc, COLLECTOR_START_TIMEOUT_S)
        except UsageError as exc:
            log.warning("%s collector: %s", system, exc)

    def stop_collector(self, system: str | None = None) -> None:
        """Stop `system`'s collector, or every one."""
        for name in [system] if system else list(self._collectors):
            proc = self._collectors.pop(name, None)
            if proc is not None:
                processes.stop(proc, STOP_TIMEOUT_S)


def _start_collector(
    system: str, finder: list[str], collector_port: int, log_dir: Path
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "swarmbench", "collector", "--system", system]
    cmd += [*finder, "--bind", f"127.0.0.1:{collector_port}"]
    cmd += ["--host-label", "local"]
    with (log_dir / f"collector-{system}.log").open("ab") as log_file:
        return processes.spawn(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)


def _wait_discovered(prometheus: LocalPrometheus, expected: int) -> None:
    deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        if len(prometheus.targets_health()) >= expected:
            return
        time.sleep(0.25)
    raise PrometheusError(f"Prometheus did not pick up its {expected} targets in time")


def _finder(target: Target) -> list[str]:
    """A server swarmbench starts is found on its port; one already running, as its entry says."""
    if target.pidfile is not None:
        return ["--pidfile", str(target.pidfile)]
    return ["--listen-port", str(target.listen_port)] if target.external else []


@contextmanager
def started_services(
    run_dir: Path, targets: dict[str, Target], run_id: str
) -> Iterator[BenchServices]:
    """Start everything; on exit stop all of it, whatever happened inside."""
    systems = tuple(targets)
    services = BenchServices(
        target_ports={name: t.listen_port or processes.free_port() for name, t in targets.items()},
        locust_bind=f"127.0.0.1:{processes.free_port()}",
        finders={name: _finder(t) for name, t in targets.items()},
    )
    with ExitStack() as stack:
        prometheus = LocalPrometheus(run_dir, scrape_interval_s=1.0)
        try:
            prometheus.start()
        except (UsageError, PrometheusError) as exc:
            log.warning("no Prometheus for this run; server figures from psutil only: %s", exc)
            services.prometheus_note = str(exc)
            yield services
            return
        stack.callback(prometheus.stop)
        services.log_dir = prometheus.home
        services.collector_ports = {s: processes.free_port() for s in systems}
        stack.callback(services.stop_collector)
        addresses = [f"127.0.0.1:{port}" for port in services.collector_ports.values()]
        prometheus.set_targets(metrics.JOB_TARGET, addresses, {"run": run_id})
        prometheus.set_targets(metrics.JOB_LOCUST, [services.locust_bind])
        try:
            _wait_discovered(prometheus, len(addresses) + 1)
        except (PrometheusError, OSError) as exc:
            log.warning("%s; server figures from psutil only", exc)
            services.prometheus_note = str(exc)
            yield services
            return
        services.prometheus = prometheus
        yield services
