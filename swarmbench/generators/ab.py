"""ab (ApacheBench) as a generator: its command line for a LoadSpec and its printed totals."""

from __future__ import annotations

import math
import re
from pathlib import Path

from swarmbench.generators.spec import ClosedLoopTool, GeneratorRun, LoadSpec, nonzero_counts

#: ab's own ceiling on requests when only -t is given is 50,000; a timed ab run needs more.
AB_TIMED_REQUEST_CAP = 100_000_000


class Ab(ClosedLoopTool):
    name = "ab"
    tool = "ab"

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
        reasons = nonzero_counts(("refused", "receive", "length", "exception"), parts)
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
