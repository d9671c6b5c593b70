"""What runs for a whole local bench: Prometheus, a collector per system, their addresses.

Prometheus' discovery hands new file_sd targets to its scrapers only every 5 s, too slow to
register a collector per cell. So each system gets a fixed server port and one collector for
the whole run (it follows its server across restarts by that port), and the Locust master
exporter a fixed address; all are registered once, before the first cell.
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

from swarmbench import targetproc
from swarmbench.errors import UsageError
from swarmbench.prometheus import LocalPrometheus, PrometheusError

log = logging.getLogger(__name__)

DISCOVERY_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


@dataclass
class BenchServices:
    target_ports: dict[str, int]
    locust_bind: str
    prometheus: LocalPrometheus | None = None
    #: why there is no Prometheus, for the cells' records and the report
    prometheus_note: str = ""
    collectors: list[subprocess.Popen[bytes]] = field(default_factory=list)


def _start_collector(
    system: str, port: int, collector_port: int, log_dir: Path
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "swarmbench", "collector", "--system", system]
    cmd += ["--listen-port", str(port), "--bind", f"127.0.0.1:{collector_port}"]
    cmd += ["--host-label", "local"]
    with (log_dir / f"collector-{system}.log").open("ab") as log_file:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_discovered(prometheus: LocalPrometheus, expected: int) -> None:
    deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
    while time.monotonic() < deadline:
        if len(prometheus.targets_health()) >= expected:
            return
        time.sleep(0.25)
    raise PrometheusError(f"Prometheus did not pick up its {expected} targets in time")


@contextmanager
def started(run_dir: Path, systems: tuple[str, ...], run_id: str) -> Iterator[BenchServices]:
    """Start everything; on exit stop all of it, whatever happened inside."""
    services = BenchServices(
        target_ports={s: targetproc.free_port() for s in systems},
        locust_bind=f"127.0.0.1:{targetproc.free_port()}",
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
        log_dir = prometheus.home
        addresses = []
        for system, port in services.target_ports.items():
            collector_port = targetproc.free_port()
            proc = _start_collector(system, port, collector_port, log_dir)
            stack.callback(_stop, proc)
            services.collectors.append(proc)
            addresses.append(f"127.0.0.1:{collector_port}")
        prometheus.set_targets("swarmbench_target", addresses, {"run": run_id})
        prometheus.set_targets("swarmbench_locust", [services.locust_bind])
        try:
            _wait_discovered(prometheus, len(addresses) + 1)
        except (PrometheusError, OSError) as exc:
            log.warning("%s; server figures from psutil only", exc)
            services.prometheus_note = str(exc)
            yield services
            return
        services.prometheus = prometheus
        yield services
