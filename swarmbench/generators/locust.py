"""Locust as a generator, and the one place a Locust command line is built.

`locust_command` serves every caller that starts Locust: the bench's cells, soak,
master-bench and telemetry-bench, and the cluster tests. The Locust generator runs
swarmbench's users headless and reads its microsecond latency JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmbench.errors import UsageError
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.util import paths, processes

#: swarmbench's locustfile, the one `locust -f locustfiles/http.py` users run.
LOCUSTFILE = paths.ROOT / "locustfiles" / "http.py"
#: swarmbench's plugin as one more -f entry for anyone's locustfile.
PLUGIN_LOCUSTFILE = paths.ROOT / "locustfiles" / "plugin.py"


def locust_executable() -> str:
    """The `locust` script beside this interpreter (the same environment's Locust)."""
    return str(Path(sys.executable).with_name("locust"))


def locust_command(
    user_class: str,
    *,
    locustfile: Path = LOCUSTFILE,
    extra_locustfiles: tuple[Path, ...] = (),
    role: str = "standalone",
    headless: bool = True,
    users: int | None = None,
    spawn_rate: float | None = None,
    run_time_s: float | None = None,
    host: str | None = None,
    latency_json: Path | None = None,
    metrics_bind: str | None = None,
    rate: float | None = None,
    run_id: str = "",
    system: str = "",
    processes_: int = 1,
    master_port: int | None = None,
    expect_workers: int | None = None,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """A `locust` command line. `role`: standalone, master or worker (which dials 127.0.0.1's
    `master_port`). A standalone run with `processes_` > 1 forks that many workers on a private
    master port; `metrics_bind` None leaves swarmbench's default, '' turns metrics off."""
    if role not in ("standalone", "master", "worker"):
        raise ValueError(f"unknown Locust role {role!r}")
    cmd = [locust_executable(), "-f", ",".join(map(str, (locustfile, *extra_locustfiles)))]
    # No user class: a web UI with --class-picker lets each run name its own.
    classes = [user_class] if user_class else []
    if role == "worker":
        cmd += ["--worker", "--master-host", "127.0.0.1", "--master-port", str(master_port)]
        return [*cmd, *extra, *classes]
    if role == "master":
        cmd += ["--master", "--master-bind-host", "127.0.0.1"]
        cmd += ["--master-bind-port", str(master_port)]
        if expect_workers is not None:
            cmd += ["--expect-workers", str(expect_workers)]
    if headless:
        cmd.append("--headless")
    cmd += _run_args(users, spawn_rate, run_time_s, host)
    cmd += _swarmbench_args(latency_json, metrics_bind, rate, run_id, system)
    if role == "standalone" and processes_ > 1:
        # Locust's default master port (5557) is shared by every run on the machine: two
        # runs at once would swap workers. The forked workers dial --master-port.
        port = str(master_port or processes.free_port())
        cmd += ["--processes", str(processes_)]
        cmd += ["--master-bind-host", "127.0.0.1", "--master-bind-port", port]
        cmd += ["--master-host", "127.0.0.1", "--master-port", port]
    return [*cmd, *extra, *classes]


def _run_args(
    users: int | None, spawn_rate: float | None, run_time_s: float | None, host: str | None
) -> list[str]:
    args = []
    if users is not None:
        args += ["-u", str(users), "-r", f"{spawn_rate if spawn_rate is not None else users:g}"]
    if run_time_s is not None:
        args += ["-t", f"{max(1, round(run_time_s))}s"]
    if host is not None:
        args += ["--host", host]
    return args


def _swarmbench_args(
    latency_json: Path | None,
    metrics_bind: str | None,
    rate: float | None,
    run_id: str,
    system: str,
) -> list[str]:
    """The options swarmbench's Locust plugin adds (engine.hooks)."""
    args = []
    if latency_json is not None:
        args += ["--latency-json", str(latency_json)]
    if metrics_bind is not None:
        args += ["--metrics-bind", metrics_bind]
    if rate:
        args += ["--rate", f"{rate:g}"]
    if run_id:
        args += ["--run-id", run_id]
    if system:
        args += ["--system", system]
    return args


LIST_TIMEOUT_S = 60.0


def user_classes(locustfiles: tuple[Path, ...]) -> list[str]:
    """The user classes Locust finds in these locustfiles (`locust --list`), or a UsageError
    with the first line Locust said (a syntax error, an import it cannot make...)."""
    cmd = [locust_executable(), "-f", ",".join(map(str, locustfiles)), "--list"]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=LIST_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise UsageError(f"Locust did not list {locustfiles[0]}'s user classes in time") from None
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or "Available Users:" not in lines[:1]:
        said = [line for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        why = said[-1].strip() if said else f"exit {proc.returncode}"
        raise UsageError(f"Locust cannot load {locustfiles[0]}: {why}")
    return [line.strip() for line in lines[1:] if line.strip()]


@dataclass(unsafe_hash=True)  # hashable: a run's generators are collected in a set
class Locust:
    """Locust, headless, with swarmbench's microsecond latency JSON: swarmbench's own users
    (KeepAliveUser, CloseUser by the cell's mode), or a user class of the user's locustfile
    (`bench --locustfile FILE --user-class NAME`), loaded beside locustfiles/http.py, whose
    import hooks swarmbench's measurement into Locust."""

    #: the user's locustfile; None: swarmbench's own users
    user_locustfile: Path | None = None
    user_class_name: str | None = None
    name: str = "locust"
    tool: str = "locust"

    def supports(self, spec: LoadSpec) -> str | None:
        if spec.requests:
            return "Locust runs for a duration, not a request count"
        if self.user_class_name and not spec.keepalive:
            return (
                f"{self.user_class_name} (--locustfile) handles its own connections: "
                "its cells run once, under keep-alive on"
            )
        return None

    def locustfiles(self) -> tuple[Path, ...]:
        """What -f loads: the user's locustfile first, then swarmbench's."""
        return (self.user_locustfile, LOCUSTFILE) if self.user_locustfile else (LOCUSTFILE,)

    def host(self, spec: LoadSpec) -> str:
        """Locust's --host: a user's class joins its paths to it (HttpUser's get("/")), so the
        root's trailing slash goes, or "/" would become "//"."""
        if self.user_class_name and spec.url.endswith("/") and spec.url.count("/") == 3:
            return spec.url.rstrip("/")
        return spec.url

    def user_class(self, spec: LoadSpec) -> str:
        if self.user_class_name:
            return self.user_class_name
        return "KeepAliveUser" if spec.keepalive else "CloseUser"

    def command(self, spec: LoadSpec, workdir: Path) -> list[str]:
        first, *others = self.locustfiles()
        return locust_command(
            self.user_class(spec),
            locustfile=first,
            extra_locustfiles=tuple(others),
            users=spec.connections,
            run_time_s=spec.duration_s,
            host=self.host(spec),
            latency_json=workdir / "locust-latency.json",
            metrics_bind=spec.metrics_bind,
            rate=spec.rate,
            run_id=spec.run_id,
            system=spec.system,
            processes_=spec.workers,
            extra=("--only-summary", "--loglevel", "WARNING", "--stop-timeout", "2"),
        )

    def parse(self, stdout: str, workdir: Path) -> GeneratorRun:
        data = json.loads((workdir / "locust-latency.json").read_text())
        workers = data.get("workers", {})
        return GeneratorRun(
            requests=int(data["requests"]),
            failures=int(data["failures"]),
            failures_by_reason=dict(data.get("failures_by_reason", {})),
            duration_s=float(data["duration_s"]),
            rps=float(data["rps"]),
            latency_us=dict(data["latency_us"]),
            latency_resolution_us=1.0,
            window_cpu_seconds=float(data["cpu_seconds"]) if "cpu_seconds" in data else None,
            generator_bound=bool(data.get("generator_bound")),
            workers=workers,
            histogram=data.get("histogram"),
            workers_lost=data.get("workers_lost") or [],
            rps_after_loss=data.get("rps_after_loss"),
            by_name=by_name_figures(data),
        )


def by_name_figures(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The latency JSON's per-request-name entries (where the plugin records them), without
    their histograms: method, name, requests, failures, rps, latency_us."""
    entries = data.get("by_name") or []
    return [{k: v for k, v in entry.items() if k != "histogram"} for entry in entries]
