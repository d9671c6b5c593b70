"""One Locust for a whole local bench: in web mode, each Locust round one run of it.

A headless Locust per round costs a Python start (a second or more on a busy machine) and its
exporter's wait at quit for Prometheus' last scrapes (up to 2.5 s): with a hundred Locust rounds
that was most of the bench's length. One local runner (no separate master process: the bench
runs one local worker) serves every round through its web API, as a cluster's master does
(swarmbench.cluster.master_api), and its exporter is scraped for the whole run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from swarmbench.cluster.master_api import RemoteMaster, run_locust
from swarmbench.generators.locust import Locust, locust_command
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.telemetry.process_tree import read_tree
from swarmbench.util import processes

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
#: The web UI shares its one core with the load it drives, beside other load on a busy machine.
HTTP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class WebLocust:
    """The running Locust: its web API, its process, and the command line that started it."""

    master: RemoteMaster
    command: tuple[str, ...]
    process: psutil.Process

    def run(self, generator: Locust, spec: LoadSpec, workdir: Path) -> GeneratorRun:
        """One round, recorded as the process's command line and the run it was asked for.

        Its CPU is the process's over the whole round, as a wrk or ab round's is its process's:
        the workers' reports only cover the measured window, and the rest (starting and
        stopping the users, the final report, the web API's answers) would otherwise be
        counted as other processes' (the "machine busy" flag) by the round's figures.
        """
        before = _cpu_seconds(self.process)
        run = run_locust(self.master, generator, spec, workdir)
        after = _cpu_seconds(self.process)
        if before is not None and after is not None:  # else the window's, as on a cluster
            run.cpu_seconds = max(after - before, run.cpu_seconds)
        run.command = [*self.command, "|", *run.command]
        return run


def _cpu_seconds(process: psutil.Process) -> float | None:
    """The process's CPU so far, read as a target's is; None once it has gone (the bench finds
    out and says so)."""
    try:
        return read_tree(process).cpu_seconds
    except psutil.Error:
        return None


@contextmanager
def started(log_dir: Path, metrics_bind: str, generator: Locust) -> Iterator[WebLocust]:
    """Locust's web UI on a free loopback port, with the generator's locustfiles (the user's
    first, where given), stopped on the way out whatever happened."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = processes.free_port()
    first, *others = generator.locustfiles()
    cmd = locust_command(
        "",  # --class-picker: each run names its user class
        locustfile=first,
        extra_locustfiles=tuple(others),
        headless=False,
        metrics_bind=metrics_bind,
        extra=("--web-host", "127.0.0.1", "--web-port", str(port), "--class-picker"),
    )
    # As a headless round's Locust (generators.locust): users finish their request at the stop.
    cmd += ["--loglevel", "WARNING", "--stop-timeout", "2"]
    with (log_dir / "locust-web.log").open("ab") as log_file:
        proc = processes.spawn(cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
    try:
        processes.wait_listening("127.0.0.1", port, proc, START_TIMEOUT_S, what="Locust's web UI")
        master = RemoteMaster(f"http://127.0.0.1:{port}", 0, http_timeout_s=HTTP_TIMEOUT_S)
        yield WebLocust(master, tuple(cmd), psutil.Process(proc.pid))
    finally:
        processes.stop(proc, STOP_TIMEOUT_S)
