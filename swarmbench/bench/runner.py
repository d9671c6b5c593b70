"""`swarmbench bench`: the saturation phase, then the same-traffic phase, round by round.

Each measurement is one round of one cell: the system's server (kept up by the pool, verified
and warmed up once) -> measure with the cell's generator while sampling the target -> queue the
window's Prometheus read-back -> fold the round into the cell (medians, intervals, flags,
verdict) -> write the cell. Rounds are interleaved across systems (bench.schedule). A rerun
with the same folder resumes: rounds already measured are skipped, a cell with all its rounds
is done; an interrupted round is dropped.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from swarmbench.bench import resume, rounds, schedule
from swarmbench.bench.backend import Backend
from swarmbench.bench.matrix import BenchConfig
from swarmbench.bench.pool import Running, TargetFailed, TargetPool
from swarmbench.bench.progress import BenchProgress
from swarmbench.bench.readback import Readback
from swarmbench.bench.runinfo import run_info
from swarmbench.bench.schedule import Measurement, Reference
from swarmbench.errors import UsageError
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.results import (
    SAME_TRAFFIC_FILE,
    CellKey,
    CellResult,
    RunDir,
    new_run_record,
)
from swarmbench.telemetry.sampler import TreeUsage
from swarmbench.util import atomic
from swarmbench.util.pinning import Placement

log = logging.getLogger(__name__)

#: Errors that mean the results folder cannot take more writes: stop the run, keep what exists.
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})
#: Tries of a round whose generator gave no result or ran well short of its planned time
#: (a generator starved of CPU on a busy machine); then the cell fails, saying why.
ROUND_TRIES = 3


class CellFailed(Exception):
    """The round cannot produce a figure; the message becomes its cell's verdict."""


class CellSkipped(Exception):
    """The cell would measure something other than it says; the message says why."""


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
    """Run every unfinished round; `header` is printed once the folder and backend are ready.

    `placement` is this machine's CPU split (None on a cluster, where each role has its hosts).
    """
    policy = policy or ResumePolicy()
    rundir = RunDir(config.out)
    rundir.ensure_writable()
    with open_backend(config, rundir.path) as backend:
        interleave = backend.interleave
        saturation = config.saturation(interleave)
        same = config.same_traffic(interleave)
        with BenchProgress(saturation, same, config, header) as progress:
            if not rundir.run_file.exists():
                info = {**run_info(config, placement), **backend.describe()}
                rundir.write_run(new_run_record(info))
            resume.record(rundir, policy.accepted)
            bench = PhaseRunner(config, placement, backend, rundir, progress, interleave)
            bench.retry_failed = policy.retry_failed
            try:
                bench.run_phase(schedule.SATURATION, saturation, {})
                if same:
                    refs = bench.references()
                    bench.run_phase(schedule.SAME_TRAFFIC, same, refs)
            finally:
                bench.close()
    return rundir


@dataclass
class PhaseRunner:
    config: BenchConfig
    placement: Placement | None
    backend: Backend
    rundir: RunDir
    progress: BenchProgress
    interleave: bool = True
    #: a failed cell found in the folder is measured again (not one that failed in this run)
    retry_failed: bool = True
    cells: dict[CellKey, CellResult] = field(default_factory=dict)
    pool: TargetPool = field(init=False)
    readback: Readback = field(init=False)

    def __post_init__(self) -> None:
        work = self.rundir.path / "work"
        concurrent = self.backend.concurrent_targets
        warmup = self.config.profile.warmup_s
        targets = self.config.targets()
        self.pool = TargetPool(self.backend, targets, warmup, work, concurrent)
        self.readback = Readback(self.backend, self.config.run_id)

    def close(self) -> None:
        """Read back what is pending and stop every server, whatever ended the run."""
        try:
            self._write(self.readback.ready(wait=True))
        except OSError as exc:  # the folder filled up: the cells already written are whole
            log.warning("last Prometheus figures not written: %s", exc)
        finally:
            self.pool.close()

    def references(self) -> dict[str, Reference]:
        if self.config.rate:
            refs = schedule.fixed_references(self.config.rate, self.config.keepalive)
        else:
            cells, targets = self.rundir.cells(), self.config.targets()
            refs = schedule.references(cells, self.config.keepalive, targets)
        atomic.write_json(
            self.rundir.path / SAME_TRAFFIC_FILE,
            {
                "steps_percent": list(self.config.same_traffic_steps),
                "references": {m: r.__dict__ for m, r in refs.items()},
            },
        )
        return refs

    def run_phase(self, phase: str, plan: list[Measurement], refs: dict[str, Reference]) -> None:
        self.progress.start_phase(phase)
        for item in plan:
            cell, retrying = self._cell(item, refs)
            if cell is None or len(cell.rounds) > item.round or cell.failed:
                self.progress.skip(item, cell)
                continue
            self.progress.start(item, retrying)
            try:
                self._round(item, cell)
            except OSError as exc:
                if exc.errno not in WRITE_ERRNOS:
                    raise
                # Atomic writes: every cell file already there is whole; this round is dropped.
                raise UsageError(
                    f"cannot write results to {self.rundir.path}: {exc.strerror}; stopped before "
                    f"{item.key.id}, the cells already written are intact (rerun to resume)"
                ) from None
            self.progress.end(item, cell)

    def _cell(
        self, item: Measurement, refs: dict[str, Reference]
    ) -> tuple[CellResult | None, CellResult | None]:
        """The cell this round belongs to: in memory, resumed from disk, or new (None: a
        same-traffic cell of a mode with no reference, nothing measured flat out); and the
        failed cell of an earlier run it measures again, if it does."""
        key = item.key
        if key in self.cells:
            return self.cells[key], None
        cell = self.rundir.finished(key)
        retrying = None
        if cell is not None and self.retry_failed and cell.verdict.startswith("failed"):
            retrying, cell = cell, None
        if cell is None:
            offered = None
            if key.load:
                ref = refs.get(key.mode)
                if ref is None:
                    return None, None
                offered = round(ref.rps * key.load / 100)
            cell = CellResult(key.system, key.mode, key.generator, verdict="ok")
            cell.load_percent, cell.offered_rps = key.load, offered
            cell.rounds_planned = item.rounds
            cell.started_at = time.time()
        self.cells[key] = cell
        return cell, retrying

    def _round(self, item: Measurement, cell: CellResult) -> None:
        key = item.key
        generator = self.config.generator(key.generator)
        spec = load_spec(self.config, self.placement, key, cell.offered_rps)
        cell.conditions = conditions(self.config, self.placement, spec, item)
        cell.conditions["interleaved"] = self.interleave
        if key.generator == "locust" and self.config.locustfile:
            cell.conditions["locustfile"] = self.config.locustfile
            cell.conditions["user_class"] = self.config.user_class
        reason = generator.supports(spec)
        if reason:
            cell.verdict = f"skipped: {reason}"
            self._write([cell])
            return
        try:
            self._measure(item, cell, spec)
        except (CellFailed, TargetFailed, UsageError) as exc:  # UsageError: could not start
            cell.verdict = f"failed: {exc}"
        except CellSkipped as exc:
            cell.verdict = f"skipped: {exc}"
        rounds.aggregate(cell)
        cell.ended_at = time.time()
        self._write([cell])

    def _measure(self, item: Measurement, cell: CellResult, spec: LoadSpec) -> None:
        running, spec = self._prepare(item, cell, spec)
        self.progress.measuring(spec)
        key = item.key
        run, usage, window = self._load(item, cell, spec, running)
        if not run.requests and not run.failures and usage.alive is not False:
            # A locustfile whose requests nothing counted would otherwise pass as 0 req/s.
            raise CellFailed(f"{key.generator} counted no requests")
        cores = len(self.placement.target) if self.placement else None
        figures = rounds.round_figures(
            item.round, window, run=run, usage=usage, spec=spec, target_cores=cores
        )
        cell.rounds.append(figures.as_dict())
        cell.events.extend(figures.events)
        self.readback.queue(cell, item.round, (window[0], window[1]))
        if usage.alive is False or not running.handle.alive():
            self.pool.release(key.system)
            reasons = rounds.reasons_text(figures.failures_by_reason)
            raise CellFailed(f"target exited during the cell's round {item.round + 1} ({reasons})")

    def _load(
        self, item: Measurement, cell: CellResult, spec: LoadSpec, running: Running
    ) -> tuple[GeneratorRun, TreeUsage, list[float]]:
        """One round's load while the target is measured: the run, the target's usage, the
        window. A round that says nothing of the server is measured again, a scrape later: a
        generator starved of CPU can start late and stop on time, or answer its driver late."""
        workdir = self.rundir.path / "work" / item.key.id / f"round-{item.round + 1}"
        generator = self.config.generator(item.key.generator)
        for attempt in range(1, ROUND_TRIES + 1):
            last = attempt == ROUND_TRIES
            sampler = running.handle.usage()
            start = time.time()
            try:
                run = self.backend.run_generator(generator, spec, workdir)
            except RuntimeError as exc:
                running.loaded_until = time.time()
                usage = sampler.stop()
                if last or usage.alive is False or not running.handle.alive():
                    raise CellFailed(str(exc)) from None
                why: str | None = f"the generator gave no result ({exc})"
            else:
                running.loaded_until = time.time()
                usage = sampler.stop()
                why = rounds.cut_short(run, spec)
                if why is None or last or usage.alive is False:
                    return run, usage, [start, running.loaded_until]
            cell.events.append({"event": "round-retried", "round": item.round + 1, "why": why})
            running.wait_quiet()
        raise AssertionError("the last try returns or raises")

    def _prepare(
        self, item: Measurement, cell: CellResult, spec: LoadSpec
    ) -> tuple[Running, LoadSpec]:
        """The system's server up and warm, earlier windows read back, a clean start for
        Prometheus; the spec aimed at the server."""
        key = item.key
        try:
            running = self.pool.get(key.system, spec)
        finally:
            found = self.pool.running.get(key.system)
            if found is not None:
                cell.verification = found.verification
        _check_sense(key, running)
        # Earlier rounds' windows are scraped by now (the start and warm-up took that long):
        # read them before this round's load, so a Prometheus lost during it keeps them.
        self._write(self.readback.ready())
        running.wait_quiet()
        return running, replace(spec, url=running.handle.url, metrics_bind=self.backend.locust_bind)

    def _write(self, changed: list[CellResult]) -> None:
        for cell in changed:
            rounds.aggregate(cell)
            self.rundir.write_cell(cell)
        if changed:
            self.rundir.write_summary(self.rundir.cells())


def _check_sense(key: CellKey, running: Running) -> None:
    """ab speaks HTTP/1.0: its -k against a server without HTTP/1.0 keep-alive would open a
    connection per request. A variant kept for that very deviation (a known deviation of its
    entry) is measured anyway."""
    if key.generator != "ab" or not key.keepalive:
        return
    if "http/1.0 keep-alive" in running.deviating:
        raise CellSkipped(
            f"ab's keep-alive is HTTP/1.0 keep-alive, which {key.system} does not do (verify)"
        )


def load_spec(
    config: BenchConfig, placement: Placement | None, key: CellKey, rate: float | None
) -> LoadSpec:
    profile = config.profile
    is_ab = key.generator == "ab"
    return LoadSpec(
        url="",
        keepalive=key.keepalive,
        connections=profile.ab_connections if is_ab else profile.connections,
        duration_s=profile.duration_s,
        requests=profile.ab_requests if is_ab else None,
        rate=rate,
        workers=config.workers,
        threads=profile.wrk_threads,
        cpus=placement.generator if placement else (),
        run_id=config.run_id,
        system=key.system,
    )


def conditions(
    config: BenchConfig, placement: Placement | None, spec: LoadSpec, item: Measurement
) -> dict[str, Any]:
    """The cell's conditions; placement None: a cluster, where the inventory places each role."""
    threads = config.target_threads or (len(placement.target) if placement else None)
    return {
        "phase": item.phase,
        "rounds": item.rounds,
        "connections": spec.connections,
        "duration_s": spec.duration_s,
        "requests": spec.requests,
        "rate": spec.rate,
        "workers": spec.workers,
        "wrk_threads": spec.threads,
        "warmup_s": config.profile.warmup_s,
        "target_threads": threads,
        "target_cores": len(placement.target) if placement else None,
        "placement": placement.as_dict() if placement else None,
    }
