"""`swarmbench bench` on this machine: every cell of the matrix, one after another.

For each cell: start the target pinned to its cores -> verify -> warm up -> measure with the
cell's generator while sampling the target -> read the same window back from Prometheus ->
stop -> write the cell. Finished cells are skipped on a rerun; an interrupted cell is dropped.
"""

from __future__ import annotations

import errno
import logging
import math
import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from swarmbench.bench import resume
from swarmbench.bench.backend import Backend, TargetHandle
from swarmbench.bench.matrix import BenchConfig
from swarmbench.bench.progress import BenchProgress
from swarmbench.bench.runinfo import run_info
from swarmbench.errors import UsageError
from swarmbench.generators.runner import by_name
from swarmbench.generators.spec import Generator, GeneratorRun, LoadSpec
from swarmbench.results import CellKey, CellResult, RunDir, new_run_record
from swarmbench.targets.registry import Contract, Target
from swarmbench.targets.verify import verify
from swarmbench.telemetry import dashboards
from swarmbench.telemetry.metrics import SCRAPE_SETTLE_S
from swarmbench.telemetry.prometheus import PrometheusAPI, PrometheusError
from swarmbench.telemetry.queries import window_cost
from swarmbench.telemetry.sampler import TreeUsage
from swarmbench.telemetry.thresholds import GENERATOR_BOUND_RATIO
from swarmbench.util.pinning import Placement

log = logging.getLogger(__name__)

#: A cell whose failures exceed this share of its requests is a failed cell, not a figure.
MAX_FAILURE_RATIO = 0.01
#: Seconds of context either side of a cell's window in its stored time series.
SERIES_MARGIN_S = 3.0
#: Errors that mean the results folder cannot take more writes: stop the run, keep what exists.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


class CellFailed(Exception):
    """The cell cannot produce a figure; the message becomes its verdict."""


#: Opens a backend for a run folder: this machine's (bench.backend.local) or a cluster's.
BackendOpener = Callable[[BenchConfig, Path], AbstractContextManager[Backend]]


@dataclass(frozen=True)
class ResumePolicy:
    """What a rerun with the same folder does with the cells already there."""

    #: run cells whose verdict is "failed: ..." again (the default; --keep-failed turns it off)
    retry_failed: bool = True
    #: differences from run.json a --resume-anyway accepted (bench.resume), recorded in run.json
    accepted: list[str] = field(default_factory=list)


def run_bench(
    config: BenchConfig,
    placement: Placement | None,
    open_backend: BackendOpener,
    header: str = "",
    policy: ResumePolicy | None = None,
) -> RunDir:
    """Run every unfinished cell; `header` is printed once the folder and backend are ready.

    `placement` is this machine's CPU split (None on a cluster, where each role has its hosts).
    """
    policy = policy or ResumePolicy()
    rundir = RunDir(config.out)
    rundir.ensure_writable()
    cells = config.cells()
    with (
        open_backend(config, rundir.path) as backend,
        BenchProgress(cells, config, header) as progress,
    ):
        if not rundir.run_file.exists():
            rundir.write_run(new_run_record({**run_info(config, placement), **backend.describe()}))
        resume.record(rundir, policy.accepted)
        bench = CellRunner(config, placement, backend, rundir, progress, config.targets())
        for key in cells:
            done = rundir.finished(key)
            if done is not None and not (policy.retry_failed and done.verdict.startswith("failed")):
                progress.skip(key, done)
                continue
            progress.start_cell(key, retrying=done)
            try:
                result = bench.run(key)
                rundir.write_cell(result)
                rundir.write_summary(rundir.cells())
            except OSError as exc:
                if exc.errno not in WRITE_ERRNOS:
                    raise
                # Atomic writes: every cell file already there is whole; this one is dropped.
                raise UsageError(
                    f"cannot write results to {rundir.path}: {exc.strerror}; stopped before "
                    f"{key.id}, the cells already written are intact (rerun to resume)"
                ) from None
            progress.end_cell(key, result)
    return rundir


@dataclass
class CellRunner:
    config: BenchConfig
    placement: Placement | None
    backend: Backend
    rundir: RunDir
    progress: BenchProgress
    targets: dict[str, Target]

    def run(self, key: CellKey) -> CellResult:
        result = CellResult(key.system, key.mode, key.generator, verdict="ok")
        result.started_at = time.time()
        generator = self.config.generator(key.generator)
        spec = _load_spec(self.config, self.placement, key)
        result.conditions = _conditions(self.config, self.placement, spec)
        if key.generator == "locust" and self.config.locustfile:
            result.conditions["locustfile"] = self.config.locustfile
            result.conditions["user_class"] = self.config.user_class
        reason = generator.supports(spec)
        if reason:
            result.verdict = f"skipped: {reason}"
            return result
        try:
            self._run_target(key, generator, spec, result)
        except (CellFailed, UsageError) as exc:  # UsageError: the target could not start
            result.verdict = f"failed: {exc}"
        except CellSkipped as exc:
            result.verdict = f"skipped: {exc}"
        result.ended_at = time.time()
        return result

    def _run_target(
        self,
        key: CellKey,
        generator: Generator,
        spec: LoadSpec,
        result: CellResult,
    ) -> None:
        backend = self.backend
        settle = SCRAPE_SETTLE_S if backend.prometheus else 0.0
        with backend.target(key.system) as server:
            spec = replace(spec, url=server.url, metrics_bind=backend.locust_bind)
            _verify(server, self.targets[key.system].contract, key, result)
            _warm_up(backend, self.config, spec, self.rundir, key)
            # An idle scrape between warm-up and measurement gives Prometheus a clean start.
            time.sleep(settle)
            workdir = self.rundir.path / "work" / key.id
            self.progress.measuring(spec)
            _measure(backend, generator, spec, server, workdir=workdir, result=result)
            time.sleep(settle)
        _read_prometheus(backend, key, self.config.run_id, result)


def _load_spec(config: BenchConfig, placement: Placement | None, key: CellKey) -> LoadSpec:
    profile = config.profile
    is_ab = key.generator == "ab"
    return LoadSpec(
        url="",
        keepalive=key.keepalive,
        connections=profile.ab_connections if is_ab else profile.connections,
        duration_s=profile.duration_s,
        requests=profile.ab_requests if is_ab else None,
        rate=config.rate,
        workers=config.workers,
        threads=profile.wrk_threads,
        cpus=placement.generator if placement else (),
        run_id=config.run_id,
        system=key.system,
    )


def _conditions(config: BenchConfig, placement: Placement | None, spec: LoadSpec) -> dict[str, Any]:
    """The cell's conditions; placement None: a cluster, where the inventory places each role."""
    threads = config.target_threads or (len(placement.target) if placement else None)
    return {
        "connections": spec.connections,
        "duration_s": spec.duration_s,
        "requests": spec.requests,
        "rate": spec.rate,
        "workers": spec.workers,
        "wrk_threads": spec.threads,
        "warmup_s": config.profile.warmup_s,
        "target_threads": threads,
        "placement": placement.as_dict() if placement else None,
    }


class CellSkipped(Exception):
    """The cell would measure something other than it says; the message says why."""


def _verify(server: TargetHandle, contract: Contract, key: CellKey, result: CellResult) -> None:
    checks = verify(server.url, contract)
    result.verification = [asdict(c) for c in checks]
    failed = [c.name for c in checks if c.failed]
    if failed:
        raise CellFailed(f"verification ({', '.join(failed)})")
    passed = {c.name for c in checks if c.ok}
    if key.generator == "ab" and key.keepalive and "http/1.0 keep-alive" not in passed:
        # ab speaks HTTP/1.0: its -k against such a server would open a connection per request.
        raise CellSkipped(
            f"ab's keep-alive is HTTP/1.0 keep-alive, which {key.system} does not do (verify)"
        )


def _warm_up(
    backend: Backend, config: BenchConfig, spec: LoadSpec, rundir: RunDir, key: CellKey
) -> None:
    """Every system gets the same primer: wrk at the cell's concurrency and mode, unless the
    cell runs at a fixed rate, which only Locust paces."""
    if config.profile.warmup_s <= 0:
        return
    warm = replace(spec, duration_s=config.profile.warmup_s, requests=None)
    generator = by_name("locust" if spec.rate else "wrk")
    try:
        backend.run_generator(generator, warm, rundir.path / "work" / key.id / "warmup")
    except RuntimeError as exc:
        raise CellFailed(f"warm-up: {exc}") from None


def _measure(
    backend: Backend,
    generator: Generator,
    spec: LoadSpec,
    server: TargetHandle,
    *,
    workdir: Path,
    result: CellResult,
) -> None:
    sampler = server.usage()
    start = time.time()
    try:
        run = backend.run_generator(generator, spec, workdir)
    except RuntimeError as exc:
        raise CellFailed(str(exc)) from None
    finally:
        usage = sampler.stop()
        result.prometheus.window = [start, time.time()]
    _fill(result, run, usage, spec)
    if usage.alive is False or not server.alive():  # None: not known (the figures are missing)
        raise CellFailed(f"target exited during the cell ({_reasons(run)})")
    if run.requests and run.failures > MAX_FAILURE_RATIO * (run.requests + run.failures):
        raise CellFailed(
            f"{run.failures} of {run.requests + run.failures} requests failed ({_reasons(run)})"
        )
    if not run.requests and not run.failures:
        # A locustfile whose requests nothing counted would otherwise pass as 0 req/s.
        raise CellFailed(f"{generator.name} counted no requests")


def _reasons(run: GeneratorRun) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(run.failures_by_reason.items()))
    return reasons or "no failures"


def _fill_target(result: CellResult, run: GeneratorRun, usage: TreeUsage) -> None:
    """The target's figures; what could not be read stays None, with the reason recorded."""
    result.target_cpu_seconds = usage.cpu_seconds
    result.rss_peak_bytes = usage.rss_peak_bytes or None
    result.threads_peak = usage.threads_peak or None
    result.target_figures_missing = usage.unknown_reason
    if usage.cpu_seconds is None:
        return
    if run.duration_s:
        result.target_cpu_percent = 100 * usage.cpu_seconds / run.duration_s
    if run.requests:
        result.cpu_us_per_request = 1e6 * usage.cpu_seconds / run.requests


def _fill(result: CellResult, run: GeneratorRun, usage: TreeUsage, spec: LoadSpec) -> None:
    result.requests = run.requests
    result.failures = run.failures
    result.failures_by_reason = run.failures_by_reason
    result.duration_s = run.duration_s
    result.rps = run.rps
    result.latency_us = run.latency_us
    result.latency_resolution_us = run.latency_resolution_us
    result.by_name = run.by_name
    _fill_target(result, run, usage)
    capacity = _generator_capacity(spec, run)
    if run.wall_s:
        result.generator_cpu_percent = 100 * run.cpu_seconds / run.wall_s
    result.generator_bound = (
        run.generator_bound
        if run.generator_bound is not None
        else (result.generator_cpu_percent or 0) > 100 * GENERATOR_BOUND_RATIO * capacity
    )
    if result.generator_bound:
        result.verdict = "generator-bound"
    wall = run.wall_s
    if usage.machine_busy_seconds is not None and usage.cpu_seconds is not None and wall:
        # The bench's own bookkeeping (Prometheus, collectors) lands here too: a few percent.
        other = usage.machine_busy_seconds - usage.cpu_seconds - run.cpu_seconds
        result.other_cpu_percent = max(0.0, 100 * other / wall)
    result.events.append(
        {"generator_command": run.command, "generator_details": run.recorded_details()}
    )
    for lost in run.workers_lost:
        # Each cell starts a fresh Locust, so the next cell has its full set of workers again.
        result.events.append(
            {
                "event": "worker-lost",
                "worker": lost["id"],
                "at": lost["at"],
                "last_seen": lost.get("last_seen"),
                "rps_after_loss": run.rps_after_loss,
            }
        )


def _generator_capacity(spec: LoadSpec, run: GeneratorRun) -> int:
    """Cores the generator can use: ab is single-threaded, wrk has its threads."""
    cores = max(1, len(spec.cpus))
    tool = run.command[0].rsplit("/", 1)[-1] if run.command else ""
    threads = {"ab": 1, "wrk": spec.threads}.get(tool, spec.workers)
    return min(cores, max(1, threads))


def _read_prometheus(backend: Backend, key: CellKey, run_id: str, result: CellResult) -> None:
    """The server's CPU over the measured window as Prometheus saw it, beside the direct figure."""
    prom = backend.prometheus
    down = backend.prometheus_down()
    if prom is None or down is not None:
        result.prometheus.available, result.prometheus.reason = False, down or "no Prometheus"
        return
    assert result.prometheus.window is not None
    start, end = result.prometheus.window
    try:
        cost = window_cost(prom, key.system, start, end + SCRAPE_SETTLE_S)
    except (PrometheusError, OSError) as exc:
        result.prometheus.available, result.prometheus.reason = False, f"query failed: {exc}"
        return
    if cost is None:
        result.prometheus.available = False
        result.prometheus.reason = "no target CPU series in the window"
        return
    # The generator's count is exact; Locust's counters in Prometheus can still hold the previous
    # cell's totals at the window's start (same exporter address), so only CPU is read back.
    requests = result.requests
    result.prometheus.available = True
    result.prometheus.target_cpu_seconds = cost.cpu_seconds
    if requests:
        result.prometheus.cpu_us_per_request = 1e6 * cost.cpu_seconds / requests
    result.prometheus.series = _panel_series(prom, key.system, run_id, start, end)


def _legend(template: str, labels: dict[str, str]) -> str:
    """Grafana's legend format ({{label}}) filled from a series' labels."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def _panel_series(
    prom: PrometheusAPI, system: str, run_id: str, start: float, end: float
) -> dict[str, list[dict[str, Any]]]:
    """The run dashboard's panels over the cell's window, for the offline report."""
    series: dict[str, list[dict[str, Any]]] = {}
    for panel in dashboards.PANELS:
        lines = []
        for query in panel.queries:
            expr = dashboards.substitute(query.expr, system=system, run=run_id)
            try:
                found = prom.query_range(expr, start - SERIES_MARGIN_S, end + SERIES_MARGIN_S, 1)
            except (PrometheusError, OSError) as exc:
                log.warning("panel %s: %s", panel.title, exc)
                continue
            for item in found:
                try:
                    values = [[float(t), float(v)] for t, v in item["values"]]
                    legend = _legend(query.legend, dict(item["metric"]))
                except (KeyError, TypeError, ValueError):
                    log.warning("panel %s: a series of an unexpected shape, left out", panel.title)
                    continue
                values = [[t, v] for t, v in values if math.isfinite(v)]
                lines.append({"legend": legend, "values": values})
        series[panel.title] = lines
    return series
