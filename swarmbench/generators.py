"""The load generators a bench cell can use: Locust (swarmbench's users), wrk and ab.

Each turns a LoadSpec into a command line and the tool's output into a GeneratorRun, so the
bench and generator-bench drive all three the same way.
"""

from __future__ import annotations

import json
import math
import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from swarmbench import paths, pinning, targetproc
from swarmbench.errors import UsageError

#: Generator processes get this long past their planned run before they are killed.
GRACE_S = 60.0
#: ab's own ceiling on requests when only -t is given is 50,000; a timed ab run needs more.
AB_TIMED_REQUEST_CAP = 100_000_000


@dataclass(frozen=True)
class LoadSpec:
    url: str
    keepalive: bool
    connections: int
    duration_s: float
    requests: int | None = None  # ab-style fixed count instead of a duration
    time_limit_s: float | None = None  # ab: a counted run also stops after this long
    rate: float | None = None  # fixed total requests/s (Locust only)
    workers: int = 1  # Locust worker processes
    threads: int = 1  # wrk threads
    cpus: tuple[int, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)  # run_id, system for Locust


@dataclass
class GeneratorRun:
    requests: int
    failures: int
    failures_by_reason: dict[str, int]
    duration_s: float
    rps: float
    latency_us: dict[str, float | None]
    latency_resolution_us: float
    cpu_seconds: float = 0.0  # the whole process's, start-up included (set by run())
    window_cpu_seconds: float | None = None  # over the measured window, if the tool knows it
    generator_bound: bool | None = None  # None: the tool cannot tell, judge by CPU
    details: dict[str, Any] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)


class Generator(Protocol):
    name: str
    tool: str

    def supports(self, spec: LoadSpec) -> str | None:
        """None if the generator can run this spec, else why not."""

    def command(self, spec: LoadSpec, workdir: Path) -> list[str]: ...

    def parse(self, stdout: str, workdir: Path) -> GeneratorRun: ...


_UNIT_US = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def _wrk_time(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"bad wrk time {text!r}")
    return float(match.group(1)) * _UNIT_US[match.group(2)]


def _nonzero(names: tuple[str, ...], match: re.Match[str] | None) -> dict[str, int]:
    """Failure counts by reason from a regex match of the tool's error line, zeros left out."""
    if not match:
        return {}
    counts = {name: int(value) for name, value in zip(names, match.groups(), strict=True)}
    return {name: n for name, n in counts.items() if n}


class Wrk:
    name = "wrk"
    tool = "wrk"

    def supports(self, spec: LoadSpec) -> str | None:
        if spec.rate:
            return "wrk cannot pace a fixed rate"
        return None

    def command(self, spec: LoadSpec, workdir: Path) -> list[str]:
        threads = max(1, min(spec.threads, spec.connections))
        cmd = ["wrk", "--latency", f"-t{threads}", f"-c{spec.connections}"]
        cmd += [f"-d{max(1, round(spec.duration_s))}s", "--timeout", "5s"]
        if not spec.keepalive:
            cmd += ["-H", "Connection: close"]
        return [*cmd, spec.url]

    def parse(self, stdout: str, workdir: Path) -> GeneratorRun:
        done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", stdout)
        if not done:
            raise ValueError("wrk printed no request count")
        requests = int(done.group(1))
        unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
        duration = float(done.group(2)) * unit
        errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", stdout)
        reasons = _nonzero(("refused", "read", "write", "timeout"), errors)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", stdout)
        if non2xx:
            reasons["bad-status"] = int(non2xx.group(1))
        latency: dict[str, float | None] = {}
        avg = re.search(r"Latency\s+([\d.]+\w+)\s+[\d.]+\w+\s+([\d.]+\w+)", stdout)
        if avg:
            latency["mean"] = _wrk_time(avg.group(1))
            latency["max"] = _wrk_time(avg.group(2))
        for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", stdout, re.M):
            latency[f"p{pct}"] = _wrk_time(value)
        failures = sum(reasons.values())
        return GeneratorRun(
            requests=requests,
            failures=failures,
            failures_by_reason=reasons,
            duration_s=duration,
            rps=requests / duration if duration else 0.0,
            latency_us=latency,
            latency_resolution_us=10.0,
        )


class Ab:
    name = "ab"
    tool = "ab"

    def supports(self, spec: LoadSpec) -> str | None:
        if spec.rate:
            return "ab cannot pace a fixed rate"
        return None

    def command(self, spec: LoadSpec, workdir: Path) -> list[str]:
        cmd = ["ab", "-q", "-r", "-s", "5", "-c", str(spec.connections)]
        if spec.requests:
            if spec.time_limit_s:  # -t before -n, as below
                cmd += ["-t", str(max(1, math.ceil(spec.time_limit_s)))]
            cmd += ["-n", str(spec.requests)]
        else:  # -t first: it resets -n to 50,000, so -n must follow it
            cmd += ["-t", str(max(1, round(spec.duration_s))), "-n", str(AB_TIMED_REQUEST_CAP)]
        if spec.keepalive:
            cmd.append("-k")
        return [*cmd, spec.url]

    def parse(self, stdout: str, workdir: Path) -> GeneratorRun:
        def number(label: str) -> float | None:
            match = re.search(rf"^{label}:\s+([\d.]+)", stdout, re.M)
            return float(match.group(1)) if match else None

        complete = number("Complete requests")
        taken = number("Time taken for tests")
        if complete is None or not taken:
            raise ValueError("ab printed no totals")
        parts = re.search(
            r"Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)", stdout
        )
        reasons = _nonzero(("refused", "receive", "length", "exception"), parts)
        non2xx = number("Non-2xx responses")
        if non2xx:
            reasons["bad-status"] = int(non2xx)
        latency: dict[str, float | None] = {}
        mean_ms = re.search(r"^Time per request:\s+([\d.]+) \[ms\] \(mean\)$", stdout, re.M)
        if mean_ms:
            latency["mean"] = float(mean_ms.group(1)) * 1000
        for pct, value in re.findall(r"^\s+(50|90|99|100)%\s+(\d+)", stdout, re.M):
            latency["max" if pct == "100" else f"p{pct}"] = float(value) * 1000
        return GeneratorRun(
            requests=int(complete),
            failures=sum(reasons.values()),
            failures_by_reason=reasons,
            duration_s=taken,
            rps=complete / taken,
            latency_us=latency,
            latency_resolution_us=1000.0,
            details={"keepalive_requests": number("Keep-Alive requests")},
        )


class Locust:
    """swarmbench's own users in Locust, headless, with its microsecond latency JSON."""

    name = "locust"
    tool = "locust"

    def supports(self, spec: LoadSpec) -> str | None:
        if spec.requests:
            return "Locust runs for a duration, not a request count"
        return None

    def locustfile(self, workdir: Path) -> Path:
        return paths.ROOT / "locustfiles" / "http.py"

    def user_class(self, spec: LoadSpec) -> str:
        return "KeepAliveUser" if spec.keepalive else "CloseUser"

    def command(self, spec: LoadSpec, workdir: Path) -> list[str]:
        locust = str(Path(sys.executable).with_name("locust"))
        cmd = [locust, "-f", str(self.locustfile(workdir)), "--headless"]
        cmd += ["-u", str(spec.connections), "-r", str(spec.connections)]
        cmd += ["-t", f"{max(1, round(spec.duration_s))}s", "--host", spec.url]
        cmd += ["--latency-json", str(workdir / "locust-latency.json"), "--only-summary"]
        cmd += ["--loglevel", "WARNING", "--stop-timeout", "2"]
        cmd += ["--metrics-bind", spec.labels.get("metrics_bind", "")]
        for label in ("run_id", "system"):
            if label in spec.labels:
                cmd += [f"--{label.replace('_', '-')}", spec.labels[label]]
        if spec.rate:
            cmd += ["--rate", f"{spec.rate:g}"]
        if spec.workers > 1:
            # Locust's default master port (5557) is shared by every run on the machine: two
            # runs at once would swap workers. The forked workers dial --master-port.
            port = str(targetproc.free_port())
            cmd += ["--processes", str(spec.workers)]
            cmd += ["--master-bind-host", "127.0.0.1", "--master-bind-port", port]
            cmd += ["--master-host", "127.0.0.1", "--master-port", port]
        return [*cmd, self.user_class(spec)]

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
            details={
                "workers": workers,
                "histogram": data.get("histogram"),
                "workers_lost": data.get("workers_lost") or [],
                "rps_after_loss": data.get("rps_after_loss"),
            },
        )


GENERATORS: dict[str, Generator] = {g.name: g for g in (Locust(), Wrk(), Ab())}


def get(name: str) -> Generator:
    if name not in GENERATORS:
        raise UsageError(f"unknown generator {name!r}; known: {', '.join(GENERATORS)}")
    return GENERATORS[name]


def require_tool(generator: Generator) -> None:
    if generator.tool != "locust" and shutil.which(generator.tool) is None:
        package = {"wrk": "wrk", "ab": "apache2-utils"}[generator.tool]
        raise UsageError(f"{generator.tool} not found: apt-get install {package}")


def _planned_s(spec: LoadSpec) -> float:
    return max(spec.duration_s, spec.time_limit_s or 0.0)


def run(generator: Generator, spec: LoadSpec, workdir: Path) -> GeneratorRun:
    """Run one measurement; the generator's CPU time comes from the kernel's child rusage."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = generator.command(spec, workdir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=pinning.preexec(spec.cpus),  # noqa: PLW1509 - pin before its threads start
    )
    try:
        stdout, stderr = proc.communicate(timeout=_planned_s(spec) + GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise RuntimeError(f"{generator.name} did not finish in time") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    (workdir / f"{generator.name}.out").write_text(stdout + "\n--- stderr ---\n" + stderr)
    try:
        result = generator.parse(stdout, workdir)
    except (ValueError, KeyError, OSError) as exc:
        tail = (stderr or stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{generator.name} gave no result ({exc}): {' | '.join(tail)}") from None
    result.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result.details["wall_s"] = time.monotonic() - started
    result.command = cmd
    return result
