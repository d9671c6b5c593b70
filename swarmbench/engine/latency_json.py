"""The latency JSON a Locust run ends with: built from the run's state, where it is written,
where the master keeps it for GET /swarmbench/latency, and its headless summary lines.

Its keys are read by the bench (local and cluster): keep them. Totals are over every request
name; "by_name" has one entry per Locust (method, name) pair, sorted by name then method:

    "by_name": [{"method": "GET", "name": "/cart", "requests": 1200, "failures": 3,
                 "rps": 400.0, "latency_us": {"mean", "p50", "p90", "p99", "p99.9", "max"},
                 "histogram": "<HdrHistogram V2, base64, like the top-level one>"}, ...]

Requests count failures too, as Locust's do. Beyond MAX_NAMES distinct names the rest are one
entry, method "*", name "(other names)". Also: "target_cpu_us_per_request" (the target's CPU per
request from --target-metrics, else null) and "thresholds" (engine.run_end: one entry per
threshold set, {"figure", "limit", "measured", "passed", "source", "message"}; [] when none).
"""

from __future__ import annotations

from typing import Any

from locust.env import Environment

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.run_state import RunState
from swarmbench.engine.worker_report import NameKey, NameTally
from swarmbench.telemetry.thresholds import GENERATOR_BOUND_RATIO

#: The Environment attribute holding the last run's result (None while a run is under way).
_RESULT_ATTR = "swarmbench_result"


def json_path(opts: Any) -> str:
    """--latency-json, else <csv prefix>_latency.json next to Locust's CSVs, else none."""
    explicit = getattr(opts, "latency_json", "") or ""
    if explicit:
        return str(explicit)
    prefix = getattr(opts, "csv_prefix", None)
    return f"{prefix}_latency.json" if prefix else ""


def stored_result(environment: Environment) -> dict[str, Any] | None:
    """The last finished run's result, None before the first or while one runs."""
    result: dict[str, Any] | None = getattr(environment, _RESULT_ATTR, None)
    return result


def store_result(environment: Environment, result: dict[str, Any] | None) -> None:
    # On the environment, not in a module global: it is the one object every listener gets.
    setattr(environment, _RESULT_ATTR, result)


def build_result(state: RunState, latency: LatencyHistogram) -> dict[str, Any]:
    """The latency JSON (its keys are read by the bench: keep them)."""
    env = state.environment
    duration = max(state.stopped - state.started, 1e-9)
    workers = {
        wid: {
            "cpu_percent_max": round(max(t.cpu_samples, default=0.0), 1),
            "cpu_percent_mean": round(100 * t.cpu_seconds / duration, 1),
            "cpu_seconds": round(t.cpu_seconds, 3),
            "requests": t.requests,
        }
        for wid, t in sorted(state.workers.items())
    }
    opts = env.parsed_options
    rate = float(getattr(opts, "rate", 0) or 0)
    return {
        "requests": state.requests,
        "failures": sum(state.failures.values()),
        "failures_by_reason": dict(sorted(state.failures.items())),
        "duration_s": round(duration, 3),
        "rps": round(state.requests / duration, 1),
        "latency_us": latency.summary(),
        "histogram": latency.encode(),
        "workers": workers,
        "generator_bound": any(
            w["cpu_percent_max"] > 100 * GENERATOR_BOUND_RATIO for w in workers.values()
        ),
        "user_class": ",".join(sorted(cls.__name__ for cls in env.user_classes)),
        "rate": rate or None,
        "host": env.host or "",
        "cpu_seconds": round(sum(t.cpu_seconds for t in state.workers.values()), 3),
        "complete": state.complete,
        "workers_lost": state.workers_lost,
        "rps_after_loss": _rps_after_loss(state),
        "by_name": by_name(state.names, duration),
        "target_cpu_us_per_request": (
            state.target_cpu.us_per_request() if state.target_cpu is not None else None
        ),
        "thresholds": [],
    }


def by_name(names: dict[NameKey, NameTally], duration_s: float) -> list[dict[str, Any]]:
    """The "by_name" entries: one per (method, name), sorted by name, then method."""
    return [
        {
            "method": method,
            "name": name,
            "requests": tally.requests,
            "failures": tally.failures,
            "rps": round(tally.requests / duration_s, 1),
            "latency_us": tally.latency.summary(),
            "histogram": tally.latency.encode(),
        }
        for (method, name), tally in sorted(names.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]


def _rps_after_loss(state: RunState) -> float | None:
    """Requests/s the remaining workers offered after the first loss was noticed.

    Locust's per-second counts are stamped by the workers as requests complete, so whole
    seconds after the loss hold only the survivors' requests (failures included: offered load).
    """
    if not state.workers_lost:
        return None
    first = int(state.workers_lost[0]["at"]) + 1
    last = int(state.stopped)
    if last <= first:
        return None
    per_second = state.environment.stats.total.num_reqs_per_sec
    return round(sum(per_second.get(t, 0) for t in range(first, last)) / (last - first), 1)


def summary_text(result: dict[str, Any], path: str) -> str:
    lat = result["latency_us"]
    lines = [
        f"swarmbench: {result['requests']} requests, {result['failures']} failures"
        f" {result['failures_by_reason'] or ''}, {result['rps']:.1f} req/s"
        f" over {result['duration_s']:.1f} s",
        "swarmbench latency (us): "
        + "  ".join(f"{k} {lat[k]}" for k in ("mean", "p50", "p90", "p99", "p99.9", "max")),
        "swarmbench generator-bound: "
        + (
            f"YES (a worker used > {GENERATOR_BOUND_RATIO:.0%} of a core)"
            if result["generator_bound"]
            else "no"
        ),
    ]
    cpu = result.get("target_cpu_us_per_request")
    if cpu is not None:
        lines.append(f"swarmbench target CPU per request: {cpu:,.1f} us")
    for threshold in result.get("thresholds", []):
        verdict = "met" if threshold["passed"] else "MISSED"
        lines.append(f"swarmbench threshold {verdict}: {threshold['message']}")
    if path:
        lines.append(f"swarmbench latency JSON: {path}")
    return "\n".join(lines)
