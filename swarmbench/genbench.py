"""The generator benchmark: what each load generator costs per request, side by side with wrk.

One target (rust-std) is pinned to one core, each generator in turn to another; runs are
interleaved round-robin (the machine's clock speed drifts, so only ratios taken in the same
round are comparable) and each figure is the median of the repeats. The figure of merit is
requests per generator-core-second: requests / CPU seconds the generator used, so a generator
that could not fill its core is not flattered or punished by the target's speed.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from swarmbench import paths, registry, targetproc
from swarmbench.errors import UsageError

GENERATORS = ("wrk", "ab", "swarmbench", "fasthttp", "http")
MODES = ("keepalive", "close")
TARGET = "rust-std"
LOCUSTFILE = paths.ROOT / "locustfiles" / "http.py"
#: A generator gets this long beyond --duration to start and stop before it is killed.
GRACE_S = 60.0
#: ab needs a request count; before wrk has run in a mode, assume this many requests/s.
AB_GUESS_RPS = 20_000

# Stock Locust users for comparison, written next to the run (they are not part of the
# product, so they do not live in locustfiles/). They register swarmbench's hooks for the
# CPU meter and the latency JSON's window.
STOCK_LOCUSTFILE = textwrap.dedent(
    """
    from locust import FastHttpUser, HttpUser, task
    from swarmbench import locust_hooks

    locust_hooks.register()
    CLOSE = {"Connection": "close"}

    class FastKeepAlive(FastHttpUser):
        @task
        def get(self):
            self.client.get("/")

    class FastClose(FastHttpUser):
        @task
        def get(self):
            self.client.get("/", headers=CLOSE)

    class HttpKeepAlive(HttpUser):
        @task
        def get(self):
            self.client.get("/")

    class HttpClose(HttpUser):
        @task
        def get(self):
            self.client.get("/", headers=CLOSE)
    """
)
USER_CLASSES = {
    ("swarmbench", "keepalive"): "KeepAliveUser",
    ("swarmbench", "close"): "CloseUser",
    ("fasthttp", "keepalive"): "FastKeepAlive",
    ("fasthttp", "close"): "FastClose",
    ("http", "keepalive"): "HttpKeepAlive",
    ("http", "close"): "HttpClose",
}


@dataclass
class Sample:
    """One generator run."""

    generator: str
    mode: str
    requests: int
    failures: int
    duration_s: float
    cpu_s: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def per_core(self) -> float:
        """Requests per generator-core-second."""
        return self.requests / self.cpu_s if self.cpu_s > 0 else 0.0


@dataclass
class Settings:
    duration_s: float
    connections: int
    generator_cpu: int
    workdir: Path


def _run_pinned(cmd: Sequence[str], cpu: int, timeout: float) -> str:
    """Run cmd pinned to one CPU; its stdout and stderr."""
    proc = subprocess.Popen(
        ["taskset", "-c", str(cpu), *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise UsageError(f"{cmd[0]} did not finish within {timeout:g} s") from None
    return out


class _ChildCpu:
    """CPU seconds of the children reaped in this context: the generator and its own children.

    taskset execs the tool, so the reaped child is the generator itself; os.times() holds
    the rusage of every reaped child, including the generator's threads and descendants.
    """

    def __enter__(self) -> _ChildCpu:
        t = os.times()
        self._start = t.children_user + t.children_system
        self.seconds = 0.0
        return self

    def __exit__(self, *_exc: object) -> None:
        t = os.times()
        self.seconds = t.children_user + t.children_system - self._start


def _number(pattern: str, text: str, what: str) -> float:
    match = re.search(pattern, text)
    if not match:
        raise UsageError(f"cannot read {what} from the generator's output: {text[-300:]!r}")
    return float(match.group(1))


def run_wrk(url: str, mode: str, s: Settings) -> Sample:
    cmd = ["wrk", "-t1", f"-c{s.connections}", f"-d{s.duration_s:g}s", url]
    if mode == "close":
        cmd[1:1] = ["-H", "Connection: close"]
    with _ChildCpu() as cpu:
        out = _run_pinned(cmd, s.generator_cpu, s.duration_s + GRACE_S)
    requests = int(_number(r"(\d+) requests in", out, "wrk's request count"))
    duration = _number(r"requests in ([\d.]+)s", out, "wrk's duration")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    failures = int(errors.group(1)) if errors else 0
    if socket_errors:
        failures += sum(int(x) for x in socket_errors.groups())
    return Sample("wrk", mode, requests, failures, duration, cpu.seconds)


def run_ab(url: str, mode: str, s: Settings, expected_rps: float) -> Sample:
    count = max(1000, int(expected_rps * s.duration_s))
    # -t caps the time; -n after -t, or -t's implied 50000 wins.
    cmd = ["ab", "-q", "-c", str(s.connections), "-t", f"{s.duration_s * 2:g}", "-n", str(count)]
    if mode == "keepalive":
        cmd.append("-k")
    with _ChildCpu() as cpu:
        out = _run_pinned([*cmd, url], s.generator_cpu, s.duration_s * 2 + GRACE_S)
    requests = int(_number(r"Complete requests:\s+(\d+)", out, "ab's request count"))
    failures = int(_number(r"Failed requests:\s+(\d+)", out, "ab's failures"))
    non2xx = re.search(r"Non-2xx responses:\s+(\d+)", out)
    failures += int(non2xx.group(1)) if non2xx else 0
    duration = _number(r"Time taken for tests:\s+([\d.]+)", out, "ab's duration")
    return Sample("ab", mode, requests, failures, duration, cpu.seconds)


def run_locust(url: str, mode: str, generator: str, s: Settings) -> Sample:
    """A standalone Locust; requests, duration and CPU from the measured window only."""
    locustfile = LOCUSTFILE if generator == "swarmbench" else s.workdir / "stock_users.py"
    latency_json = s.workdir / f"{generator}-{mode}-latency.json"
    stats_json = s.workdir / f"{generator}-{mode}-stats"
    cmd = [
        str(Path(sys.executable).parent / "locust"), "-f", str(locustfile), "--headless",
        "-u", str(s.connections), "-r", str(s.connections * 10), "-t", f"{s.duration_s:g}s",
        # Stock users join host and path: "http://h:p/" + "/" would be "//".
        "--host", url.rstrip("/"), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "0",
        "--metrics-bind", "", "--latency-json", str(latency_json), "--json-file", str(stats_json),
        USER_CLASSES[(generator, mode)],
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(paths.ROOT)}
    proc = subprocess.run(
        ["taskset", "-c", str(s.generator_cpu), *cmd],
        capture_output=True, text=True, timeout=s.duration_s + GRACE_S, env=env, check=False,
    )  # fmt: skip
    if not latency_json.exists():
        raise UsageError(f"locust ({generator}) wrote no result: {proc.stderr[-500:]}")
    result = json.loads(latency_json.read_text())
    stats = json.loads(Path(f"{stats_json}.json").read_text())
    requests = sum(entry["num_requests"] for entry in stats)
    failures = sum(entry["num_failures"] for entry in stats)
    return Sample(generator, mode, requests, failures, result["duration_s"], result["cpu_seconds"])


def run_matrix(
    generators: Sequence[str],
    modes: Sequence[str],
    repeats: int,
    settings: Settings,
    *,
    target_cpu: int,
    progress: Callable[[Sample], None] = lambda _s: None,
) -> list[Sample]:
    """Every (mode, generator) once per round, rounds repeated; the target is started once."""
    (settings.workdir / "stock_users.py").write_text(STOCK_LOCUSTFILE)
    target = registry.get(TARGET)
    samples: list[Sample] = []
    wrk_rps: dict[str, float] = {}
    with targetproc.started(target, targetproc.free_port(), 1, cpus=[target_cpu]) as server:
        for _ in range(repeats):
            for mode in modes:
                for generator in generators:
                    if generator == "wrk":
                        sample = run_wrk(server.url, mode, settings)
                        wrk_rps[mode] = sample.rps
                    elif generator == "ab":
                        guess = wrk_rps.get(mode, AB_GUESS_RPS)
                        sample = run_ab(server.url, mode, settings, guess)
                    else:
                        sample = run_locust(server.url, mode, generator, settings)
                    samples.append(sample)
                    progress(sample)
    return samples


@dataclass
class Summary:
    generator: str
    mode: str
    rps: float
    per_core: float
    ratio_to_wrk: float | None
    failures: int
    runs: int


def summarise(samples: Sequence[Sample]) -> list[Summary]:
    """Medians per (generator, mode) and each one's per-core ratio to wrk's median."""
    keys = list(dict.fromkeys((s.generator, s.mode) for s in samples))
    medians: dict[tuple[str, str], tuple[float, float]] = {}
    for key in keys:
        group = [s for s in samples if (s.generator, s.mode) == key]
        medians[key] = (
            statistics.median(s.rps for s in group),
            statistics.median(s.per_core for s in group),
        )
    rows = []
    for key in keys:
        group = [s for s in samples if (s.generator, s.mode) == key]
        wrk = medians.get(("wrk", key[1]))
        ratio = medians[key][1] / wrk[1] if wrk and wrk[1] else None
        failures = sum(s.failures for s in group)
        rows.append(Summary(*key, *medians[key], ratio, failures, len(group)))
    return rows


def write_json(path: Path, samples: Sequence[Sample], rows: Sequence[Summary], meta: dict) -> None:
    data = {
        **meta,
        "samples": [{**asdict(s), "rps": s.rps, "per_core": s.per_core} for s in samples],
        "summary": [asdict(r) for r in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def pick_cpus() -> tuple[int, int]:
    """(generator CPU, target CPU): the first and last this process may use."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise UsageError("generator-bench needs two CPUs: one for the target, one for generators")
    return cpus[0], cpus[-1]


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="swarmbench-genbench-")
