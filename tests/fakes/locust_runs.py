"""Real `locust` processes for the tests: a headless standalone run, or a master with workers.

Each run writes Locust's --json-file (locust.json), swarmbench's latency JSON (run_latency.json)
and, when tests/fakes/locustfiles/listener.py is among the locustfiles, the third-party style
listener's counts (listener/<pid>.json, one per process) in the run's directory. A run
started with its web UI up (web_autostart) also serves the UI and the metrics endpoint while
it goes on and for a few seconds after it ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swarmbench.util import processes

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"
LISTENER = LOCUSTFILES / "listener.py"
PLUGIN = ROOT / "locustfiles" / "plugin.py"
SWARMBENCH_USERS = ROOT / "locustfiles" / "http.py"
LOCUST = str(Path(sys.executable).parent / "locust")
RUN_TIMEOUT_S = 90


@dataclass
class Run:
    """What one run left in its directory."""

    output: str
    returncode: int
    #: swarmbench's latency JSON
    result: dict[str, Any]
    #: Locust's --json-file: one entry per (method, name)
    locust: list[dict[str, Any]]
    #: "METHOD name" -> requests and failures the listener heard of, over every process
    heard: Counter[str]
    heard_failures: Counter[str]


def tracebacks(output: str) -> list[str]:
    """The tracebacks in a Locust run's output, less one of Locust's own: at exit its --csv
    writer greenlet may still seek a file the shutdown just closed ("I/O operation on closed
    file" in locust/stats.py's stats_writer, seen on a busy machine). Any other is a failure."""
    blocks = output.split("Traceback (most recent call last):")[1:]
    return [
        b for b in blocks
        if not ("locust/stats.py" in b[:400] and "in stats_writer" in b[:400])
    ]  # fmt: skip


def command(locustfiles: Sequence[Path], *args: str, metrics_bind: str = "") -> list[str]:
    return [LOCUST, "-f", ",".join(map(str, locustfiles)), "--metrics-bind", metrics_bind, *args]


def _env(cwd: Path) -> dict[str, str]:
    (cwd / "listener").mkdir(exist_ok=True)
    return {**os.environ, "LISTENER_OUT": str(cwd / "listener")}


def _read(cwd: Path, output: str, returncode: int, csv: str = "run") -> Run:
    heard: Counter[str] = Counter()
    heard_failures: Counter[str] = Counter()
    for path in (cwd / "listener").glob("*.json"):
        data = json.loads(path.read_text())
        heard.update(data["requests"])
        heard_failures.update(data["failures"])
    latency = cwd / f"{csv}_latency.json"
    return Run(
        output=output,
        returncode=returncode,
        result=json.loads(latency.read_text()) if latency.exists() else {},
        locust=json.loads((cwd / "locust.json").read_text()),
        heard=heard,
        heard_failures=heard_failures,
    )


def headless(cwd: Path, locustfiles: Sequence[Path], *args: str, csv: str = "run") -> Run:
    """A standalone headless run; args carry -u, -t, --host and the user class."""
    cmd = command(locustfiles, "--headless", "--csv", csv, "--json-file", "locust", *args)
    proc = subprocess.run(
        cmd, check=False, cwd=cwd, env=_env(cwd), capture_output=True, text=True,
        timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    return _read(cwd, proc.stdout + proc.stderr, proc.returncode, csv)


def _master_args(port: int, workers: int) -> list[str]:
    args = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    return [*args, "--expect-workers", str(workers)]


def _start_workers(
    cwd: Path, locustfiles: Sequence[Path], port: int, workers: int, args: Sequence[str] = ()
) -> list[subprocess.Popen[bytes]]:
    cmd = command(locustfiles, "--worker", "--master-host", "127.0.0.1")
    cmd += ["--master-port", str(port), *args]
    quiet = subprocess.DEVNULL
    return [
        subprocess.Popen(cmd, cwd=cwd, env=_env(cwd), stdout=quiet, stderr=quiet)
        for _ in range(workers)
    ]


def _finish(master: subprocess.Popen[str], workers: Sequence[subprocess.Popen[bytes]]) -> str:
    """The master's output once it quit; the workers quit with it, writing their counts."""
    try:
        out, _ = master.communicate(timeout=RUN_TIMEOUT_S)
        for proc in workers:
            proc.wait(timeout=20)
    finally:
        processes.stop(master)
        for proc in workers:
            processes.stop(proc)
    return out


def distributed(
    cwd: Path,
    locustfiles: Sequence[Path],
    *args: str,
    workers: int = 2,
    user_class: str = "",
    worker_args: Sequence[str] = (),
) -> Run:
    """A headless master and `workers` worker processes on loopback; args go to the master."""
    port = processes.free_port()
    master_args = [*_master_args(port, workers), "--headless", "--csv", "run"]
    master_args += ["--json-file", "locust", *args]
    master = subprocess.Popen(
        command(locustfiles, *master_args, *([user_class] if user_class else [])),
        cwd=cwd, env=_env(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    started = _start_workers(cwd, locustfiles, port, workers, worker_args)
    out = _finish(master, started)
    return _read(cwd, out, master.returncode)


@dataclass
class WebRun:
    """A run with Locust's web UI and swarmbench's metrics endpoint up."""

    #: http://127.0.0.1:PORT of Locust's web UI, and of the metrics endpoint
    web: str
    metrics: str
    #: what the run left, once every process quit
    run: Run | None = field(default=None)


@contextmanager
def web_autostart(
    cwd: Path, locustfiles: Sequence[Path], *args: str, workers: int = 0, autoquit_s: int = 5
) -> Iterator[WebRun]:
    """A run started from the command line with its web UI up (--autostart), standalone or a
    master with `workers` workers, serving metrics; it quits autoquit_s after it ends. The
    body reads the endpoints meanwhile; `run` is filled when the with-block ends."""
    web_port, metrics_port, master_port = (processes.free_port() for _ in range(3))
    live = WebRun(f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{metrics_port}/metrics")
    cmd = command(
        locustfiles, *(_master_args(master_port, workers) if workers else []),
        "--autostart", "--autoquit", str(autoquit_s), "--web-host", "127.0.0.1",
        "--web-port", str(web_port), "--csv", "run", "--json-file", "locust", *args,
        metrics_bind=f"127.0.0.1:{metrics_port}",
    )  # fmt: skip
    master = subprocess.Popen(
        cmd, cwd=cwd, env=_env(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    started = _start_workers(cwd, locustfiles, master_port, workers)
    try:
        yield live
    finally:
        out = _finish(master, started)
    live.run = _read(cwd, out, master.returncode)
