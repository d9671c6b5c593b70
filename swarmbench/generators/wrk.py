"""wrk as a generator: its command line for a LoadSpec and its printed totals."""

from __future__ import annotations

import re
from pathlib import Path

from swarmbench.generators.spec import ClosedLoopTool, GeneratorRun, LoadSpec, nonzero_counts

_UNIT_US = {"us": 1.0, "ms": 1000.0, "s": 1_000_000.0}


def _wrk_time(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"bad wrk time {text!r}")
    return float(match.group(1)) * _UNIT_US[match.group(2)]


class Wrk(ClosedLoopTool):
    name = "wrk"
    tool = "wrk"

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
        reasons = nonzero_counts(("refused", "read", "write", "timeout"), errors)
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
