"""One round's figures, and a cell's figures from its rounds: medians, intervals, flags, verdict.

A round is one short measurement; a cell's figures are the medians of its rounds, with an
interval (swarmbench.util.stats) and flags next to them when the rounds disagree, the machine
was busy, or the figure is a lower bound. A cell with any failed request never reads "ok".
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.results import INTERVAL_FIGURES, CellResult
from swarmbench.telemetry.sampler import TreeUsage
from swarmbench.telemetry.thresholds import (
    BUSY_OTHER_CPU_PERCENT,
    GENERATOR_BOUND_RATIO,
    STEAL_CPU_PERCENT,
)
from swarmbench.util import stats

#: A cell whose failures exceed this share of its requests is a failed cell, not a figure.
MAX_FAILURE_RATIO = 0.01
#: Rounds whose requests/s interval spans more than this share of the median disagree.
DISAGREE_SPREAD = 0.25
#: A flat-out cell whose target used less than this share of the cores it was given was not
#: loaded to its capacity: the load (generator CPU, too few connections) was the limit.
TARGET_SATURATED_SHARE = 0.5
#: A timed round whose load ran less than this share of its planned time is measured again.
SHORT_ROUND_SHARE = 0.5
#: A same-traffic round that achieved less than this share of its offered rate fell behind.
PACE_KEPT_SHARE = 0.9


@dataclass
class RoundFigures:
    """What one round measured (the cell file's `rounds` entries)."""

    index: int
    window: list[float]
    requests: int
    failures: int
    failures_by_reason: dict[str, int]
    duration_s: float
    rps: float | None
    latency_us: dict[str, float | None]
    #: None: not known (a cluster's Prometheus could not be read; target_figures_missing says why)
    target_cpu_seconds: float | None
    target_cpu_percent: float | None
    cpu_us_per_request: float | None
    rss_peak_bytes: int | None
    threads_peak: int | None
    generator_cpu_percent: float | None
    generator_bound: bool
    bound_reason: str | None
    other_cpu_percent: float | None
    target_figures_missing: str | None = None
    #: the hypervisor's steal over the round (100 = one core); None: not measured (a cluster)
    steal_cpu_percent: float | None = None
    #: per request name, where the Locust cell recorded names (a user's locustfile)
    by_name: list[dict[str, Any]] = field(default_factory=list)
    #: filled later, when Prometheus has scraped past the window
    prometheus_cpu_seconds: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def round_figures(
    index: int,
    window: list[float],
    *,
    run: GeneratorRun,
    usage: TreeUsage,
    spec: LoadSpec,
    target_cores: int | None,
) -> RoundFigures:
    cpu = usage.cpu_seconds
    cpu_percent = 100 * cpu / run.duration_s if cpu is not None and run.duration_s else None
    gen_cpu = 100 * run.cpu_seconds / run.wall_s if run.wall_s else None
    other = None
    if usage.machine_busy_seconds is not None and cpu is not None and run.wall_s:
        # The bench's own bookkeeping (Prometheus, collectors) lands here too: a few percent.
        busy = usage.machine_busy_seconds - cpu - run.cpu_seconds
        other = max(0.0, 100 * busy / run.wall_s)
    steal = None
    if usage.machine_steal_seconds is not None and run.wall_s:
        steal = max(0.0, 100 * usage.machine_steal_seconds / run.wall_s)
    bound, reason = judge_bound(
        run, spec, gen_cpu, cpu_percent, target_cores, other_cpu_percent=other
    )
    events: list[dict[str, Any]] = [
        {"generator_command": run.command, "generator_details": run.recorded_details()}
    ]
    events += [
        {
            "event": "worker-lost",
            "worker": lost["id"],
            "at": lost["at"],
            "last_seen": lost.get("last_seen"),
            "rps_after_loss": run.rps_after_loss,
        }
        for lost in run.workers_lost
    ]
    return RoundFigures(
        index=index,
        window=window,
        requests=run.requests,
        failures=run.failures,
        failures_by_reason=dict(run.failures_by_reason),
        duration_s=run.duration_s,
        rps=run.rps,
        latency_us=dict(run.latency_us),
        target_cpu_seconds=cpu,
        target_cpu_percent=cpu_percent,
        cpu_us_per_request=1e6 * cpu / run.requests if cpu is not None and run.requests else None,
        rss_peak_bytes=usage.rss_peak_bytes or None,
        threads_peak=usage.threads_peak or None,
        generator_cpu_percent=gen_cpu,
        generator_bound=bound,
        bound_reason=reason,
        other_cpu_percent=other,
        target_figures_missing=usage.unknown_reason,
        steal_cpu_percent=steal,
        by_name=list(run.by_name),
        events=events,
    )


def cut_short(run: GeneratorRun, spec: LoadSpec) -> str | None:
    """Why a timed round ran well short of its planned length, or None when it did not."""
    if spec.requests or not spec.duration_s:
        return None
    if run.duration_s >= SHORT_ROUND_SHARE * spec.duration_s:
        return None
    return f"the load ran {run.duration_s:.2f} s of the {spec.duration_s:g} s planned"


def judge_bound(
    run: GeneratorRun,
    spec: LoadSpec,
    generator_cpu_percent: float | None,
    target_cpu_percent: float | None,
    target_cores: int | None,
    *,
    other_cpu_percent: float | None = None,
) -> tuple[bool, str | None]:
    """Whether the round's requests/s is a lower bound of the server's, and why.

    Flat out: the generator at its CPU limit, or the target well short of the cores it was
    given: because of the load (too few connections, a throttled generator), or because other
    processes took what the target left (their CPU could have filled it: a busy machine). At a
    fixed rate: the generator could not keep the pace it was asked for.
    """
    if spec.rate:
        if run.rps < PACE_KEPT_SHARE * spec.rate:
            return True, f"offered {spec.rate:,.0f} req/s, achieved {run.rps:,.0f}"
        return False, None
    capacity = generator_cores(spec, run)
    if run.generator_bound:
        return True, "a Locust worker above 90% CPU"
    if generator_cpu_percent is not None and generator_cpu_percent > (
        100 * GENERATOR_BOUND_RATIO * capacity
    ):
        return True, f"generator at {generator_cpu_percent:.0f}% CPU ({capacity} core(s) usable)"
    short = _target_short(target_cpu_percent, target_cores, other_cpu_percent)
    return short is not None, short


def _target_short(
    target_cpu_percent: float | None, target_cores: int | None, other_cpu_percent: float | None
) -> str | None:
    """Why a flat-out target used under half of its cores, or None when it did not."""
    if target_cpu_percent is None or not target_cores:
        return None
    share = target_cpu_percent / (100 * target_cores)
    if share >= TARGET_SATURATED_SHARE:
        return None
    used = f"the target used {share:.0%} of its {target_cores} core(s)"
    if (
        other_cpu_percent is not None
        and other_cpu_percent >= 100 * target_cores - target_cpu_percent
    ):
        return (
            f"{used} while other processes used {other_cpu_percent:.0f}% of a core: the busy "
            "machine, not the server, was the limit"
        )
    return f"{used}: the load, not the server, was the limit"


def generator_cores(spec: LoadSpec, run: GeneratorRun) -> int:
    """Cores the generator can use: ab is single-threaded, wrk has its threads."""
    cores = max(1, len(spec.cpus))
    tool = run.command[0].rsplit("/", 1)[-1] if run.command else ""
    threads = {"ab": 1, "wrk": spec.threads}.get(tool, spec.workers)
    return min(cores, max(1, threads))


def _median(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.median(found) if found else None


def _figure(rnd: dict[str, Any], name: str) -> float | None:
    latency = rnd.get("latency_us") or {}
    value = latency.get("p99") if name == "latency_p99_us" else rnd.get(name)
    return float(value) if value is not None else None


def aggregate(cell: CellResult) -> None:
    """Set the cell's figures, intervals, flags and verdict from its rounds (in place)."""
    rounds = cell.rounds
    if not rounds:
        return
    cell.requests = sum(int(r["requests"]) for r in rounds)
    cell.failures = sum(int(r["failures"]) for r in rounds)
    reasons: dict[str, int] = {}
    for r in rounds:
        for reason, count in (r.get("failures_by_reason") or {}).items():
            reasons[reason] = reasons.get(reason, 0) + int(count)
    cell.failures_by_reason = reasons
    cell.duration_s = sum(float(r["duration_s"]) for r in rounds)
    cell.rps = _median([_figure(r, "rps") for r in rounds])
    keys = {k for r in rounds for k in (r.get("latency_us") or {})}
    cell.latency_us = {
        k: _median([(r.get("latency_us") or {}).get(k) for r in rounds]) for k in keys
    }
    known = [
        float(r["target_cpu_seconds"]) for r in rounds if r.get("target_cpu_seconds") is not None
    ]
    cell.target_cpu_seconds = sum(known) if known else None
    missing = [r["target_figures_missing"] for r in rounds if r.get("target_figures_missing")]
    cell.target_figures_missing = missing[-1] if missing else None
    cell.target_cpu_percent = _median([_figure(r, "target_cpu_percent") for r in rounds])
    cell.cpu_us_per_request = _median([_figure(r, "cpu_us_per_request") for r in rounds])
    cell.rss_peak_bytes = max((r["rss_peak_bytes"] or 0 for r in rounds), default=0) or None
    cell.threads_peak = max((r["threads_peak"] or 0 for r in rounds), default=0) or None
    cell.generator_cpu_percent = _median([_figure(r, "generator_cpu_percent") for r in rounds])
    cell.by_name = by_name(rounds)
    others = [r["other_cpu_percent"] for r in rounds if r.get("other_cpu_percent") is not None]
    cell.other_cpu_percent = max(others) if others else None
    steals = [r["steal_cpu_percent"] for r in rounds if r.get("steal_cpu_percent") is not None]
    cell.steal_cpu_percent = max(steals) if steals else None
    bound = [r for r in rounds if r.get("generator_bound")]
    cell.generator_bound = 2 * len(bound) >= len(rounds)
    cell.bound_reason = bound[0].get("bound_reason") if cell.generator_bound else None
    _intervals(cell)
    _prometheus(cell)
    cell.flags = flags(cell, len(bound))
    if not cell.failed:
        cell.verdict = verdict(cell)


def by_name(rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per request name over the rounds: counts summed, rates and latencies their medians."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for rnd in rounds:
        for entry in rnd.get("by_name") or []:
            groups.setdefault((entry.get("method", ""), entry.get("name", "")), []).append(entry)
    out = []
    for (method, name), entries in groups.items():
        keys = {k for e in entries for k in (e.get("latency_us") or {})}
        out.append(
            {
                "method": method,
                "name": name,
                "requests": sum(int(e.get("requests") or 0) for e in entries),
                "failures": sum(int(e.get("failures") or 0) for e in entries),
                "rps": _median([e.get("rps") for e in entries]),
                "latency_us": {
                    k: _median([(e.get("latency_us") or {}).get(k) for e in entries]) for k in keys
                },
            }
        )
    return out


def _intervals(cell: CellResult) -> None:
    cell.intervals = {}
    coverage = None
    for name in INTERVAL_FIGURES:
        est = stats.estimate([v for r in cell.rounds if (v := _figure(r, name)) is not None])
        if est is not None:
            cell.intervals[name] = [est.low, est.high]
            coverage = est.coverage
    cell.interval_coverage = coverage


def _prometheus(cell: CellResult) -> None:
    """The Prometheus cross-check over the rounds read back so far."""
    read = [r for r in cell.rounds if r.get("prometheus_cpu_seconds") is not None]
    if not read:
        return
    cpu = sum(float(r["prometheus_cpu_seconds"]) for r in read)
    requests = sum(int(r["requests"]) for r in read)
    cell.prometheus.target_cpu_seconds = cpu
    cell.prometheus.cpu_us_per_request = 1e6 * cpu / requests if requests else None


def flags(cell: CellResult, bound_rounds: int) -> list[str]:
    out = []
    rps = cell.interval("rps")
    if rps and cell.rps and (rps[1] - rps[0]) / cell.rps > DISAGREE_SPREAD:
        out.append(
            f"rounds disagree: {rps[0]:,.0f} to {rps[1]:,.0f} req/s over {len(cell.rounds)} rounds"
        )
    number, other = _worst_round(cell, "other_cpu_percent")
    if other > BUSY_OTHER_CPU_PERCENT:
        out.append(f"machine busy: other processes used {other:.0f}% of a core in round {number}")
    number, steal = _worst_round(cell, "steal_cpu_percent")
    if steal > STEAL_CPU_PERCENT:
        out.append(
            f"machine not its own: the hypervisor ran other guests for {steal:.0f}% of a core "
            f"in round {number}"
        )
    if 0 < bound_rounds < len(cell.rounds) and not cell.generator_bound:
        out.append(f"generator-bound in {bound_rounds} of {len(cell.rounds)} rounds")
    return out


def _worst_round(cell: CellResult, figure: str) -> tuple[int, float]:
    """The round (numbered from 1) with the highest figure, and that figure; 0 when none has it."""
    worst = max(cell.rounds, key=lambda r: r.get(figure) or 0.0, default=None)
    if worst is None:
        return 0, 0.0
    return int(worst["index"]) + 1, float(worst.get(figure) or 0.0)


def verdict(cell: CellResult) -> str:
    """ok, generator-bound, or failures: ...; "failed: ..." when too many requests failed."""
    total = cell.requests + cell.failures
    if cell.failures:
        share = cell.failures / total if total else 1.0
        reasons = reasons_text(cell.failures_by_reason)
        text = f"{cell.failures:,} of {total:,} requests failed ({share:.2%}; {reasons})"
        if share > MAX_FAILURE_RATIO or not cell.requests:
            return f"failed: {text}"
        return f"failures: {text}"
    return "generator-bound" if cell.generator_bound else "ok"


def reasons_text(by_reason: Mapping[str, int]) -> str:
    found = ", ".join(f"{k} {v:,}" for k, v in sorted(by_reason.items()))
    return found or "no reason reported"
