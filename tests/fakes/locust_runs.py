"""Real `locust` processes for the tests: a headless standalone run, or a master with workers.

Each run writes Locust's --json-file (locust.json), swarmbench's latency JSON (run_latency.json)
and, when tests/fakes/locustfiles/listener.py is among the locustfiles, the third-party style
listener's counts (listener/<pid>.json, one per process) in the run's directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
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


def command(locustfiles: Sequence[Path], *args: str) -> list[str]:
    return [LOCUST, "-f", ",".join(map(str, locustfiles)), "--metrics-bind", "", *args]


def _env(cwd: Path) -> dict[str, str]:
    (cwd / "listener").mkdir(exist_ok=True)
    return {**os.environ, "LISTENER_OUT": str(cwd / "listener")}


def _read(cwd: Path, output: str, returncode: int) -> Run:
    heard: Counter[str] = Counter()
    heard_failures: Counter[str] = Counter()
    for path in (cwd / "listener").glob("*.json"):
        data = json.loads(path.read_text())
        heard.update(data["requests"])
        heard_failures.update(data["failures"])
    latency = cwd / "run_latency.json"
    return Run(
        output=output,
        returncode=returncode,
        result=json.loads(latency.read_text()) if latency.exists() else {},
        locust=json.loads((cwd / "locust.json").read_text()),
        heard=heard,
        heard_failures=heard_failures,
    )


def headless(cwd: Path, locustfiles: Sequence[Path], *args: str) -> Run:
    """A standalone headless run; args carry -u, -t, --host and the user class."""
    cmd = command(locustfiles, "--headless", "--csv", "run", "--json-file", "locust", *args)
    proc = subprocess.run(
        cmd, check=False, cwd=cwd, env=_env(cwd), capture_output=True, text=True,
        timeout=RUN_TIMEOUT_S,
    )  # fmt: skip
    return _read(cwd, proc.stdout + proc.stderr, proc.returncode)


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
    master_args = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    master_args += ["--expect-workers", str(workers), "--headless", "--csv", "run"]
    master_args += ["--json-file", "locust", *args]
    env = _env(cwd)
    master = subprocess.Popen(
        command(locustfiles, *master_args, *([user_class] if user_class else [])),
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    worker_cmd = command(locustfiles, "--worker", "--master-host", "127.0.0.1")
    worker_cmd += ["--master-port", str(port), *worker_args]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = [subprocess.Popen(worker_cmd, cwd=cwd, env=env, **quiet) for _ in range(workers)]
    try:
        out, _ = master.communicate(timeout=RUN_TIMEOUT_S)
        for proc in started:
            proc.wait(timeout=20)  # they quit with the master, writing their listener counts
    finally:
        for proc in (master, *started):
            processes.stop(proc)
    return _read(cwd, out, master.returncode)
