"""A cell from its rounds: medians, intervals, flags, and verdicts that never hide failures."""

from __future__ import annotations

from typing import Any

from swarmbench.bench import rounds
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.results import CellResult


def _round(index: int, rps: float, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "index": index, "window": [0.0, 2.0], "requests": int(rps * 2), "failures": 0,
        "failures_by_reason": {}, "duration_s": 2.0, "rps": rps,
        "latency_us": {"p99": 1000.0 + index}, "target_cpu_seconds": 1.0,
        "target_cpu_percent": 50.0 + index, "cpu_us_per_request": 10.0, "rss_peak_bytes": 100,
        "threads_peak": 2, "generator_cpu_percent": 60.0, "generator_bound": False,
        "bound_reason": None, "other_cpu_percent": 5.0,
    }  # fmt: skip
    base.update(extra)
    return base


def _cell(*rnds: dict[str, Any]) -> CellResult:
    cell = CellResult("tokio", "on", "wrk", verdict="ok", rounds=list(rnds), rounds_planned=3)
    rounds.aggregate(cell)
    return cell


def test_figures_are_medians_with_the_rounds_interval() -> None:
    cell = _cell(_round(0, 900.0), _round(1, 1000.0), _round(2, 950.0))
    assert cell.rps == 950.0
    assert cell.intervals["rps"] == [900.0, 1000.0]
    assert cell.intervals["latency_p99_us"] == [1000.0, 1002.0]
    assert cell.interval_coverage == 0.75
    assert cell.requests == 1800 + 2000 + 1900
    assert (cell.verdict, cell.flags) == ("ok", [])


def test_disagreeing_rounds_and_a_busy_machine_are_flagged() -> None:
    cell = _cell(_round(0, 500.0), _round(1, 1000.0, other_cpu_percent=80.0), _round(2, 950.0))
    assert cell.flags == [
        "rounds disagree: 500 to 1,000 req/s over 3 rounds",
        "machine busy: other processes used 80% of a core in round 2",
    ]


def test_a_round_the_hypervisor_took_from_is_flagged() -> None:
    """Steal slows target and generator alike without showing in any process's CPU."""
    cell = _cell(_round(0, 1000.0, steal_cpu_percent=40.0), _round(1, 990.0), _round(2, 995.0))
    assert cell.flags == [] and cell.steal_cpu_percent == 40.0
    cell = _cell(_round(0, 1000.0), _round(1, 990.0, steal_cpu_percent=68.0), _round(2, 995.0))
    assert cell.flags == [
        "machine not its own: the hypervisor ran other guests for 68% of a core in round 2"
    ]
    assert cell.steal_cpu_percent == 68.0
    # A cluster's rounds have no steal figure: nothing is flagged or invented.
    cell = _cell(_round(0, 1000.0), _round(1, 990.0))
    assert cell.steal_cpu_percent is None and cell.flags == []


def test_any_failure_is_counted_in_the_verdict_and_too_many_fail_the_cell() -> None:
    few = {"failures": 3, "failures_by_reason": {"receive": 3}}
    cell = _cell(_round(0, 1000.0, **few), _round(1, 1000.0), _round(2, 1000.0))
    assert cell.verdict == "failures: 3 of 6,003 requests failed (0.05%; receive 3)"
    many = {"failures": 500, "failures_by_reason": {"length": 500}}
    cell = _cell(_round(0, 1000.0, **many))
    assert cell.verdict.startswith("failed: 500 of 2,500 requests failed (20.00%; length 500)")


def test_bound_in_most_rounds_makes_the_figure_a_lower_bound() -> None:
    bound = {"generator_bound": True, "bound_reason": "generator at 97% CPU"}
    cell = _cell(_round(0, 1000.0, **bound), _round(1, 1000.0, **bound), _round(2, 990.0))
    assert cell.generator_bound and cell.verdict == "generator-bound"
    assert cell.bound_reason == "generator at 97% CPU"
    cell = _cell(_round(0, 1000.0, **bound), _round(1, 1000.0), _round(2, 990.0))
    assert not cell.generator_bound
    assert "generator-bound in 1 of 3 rounds" in cell.flags


def _run(rps: float, cpu_s: float, tool: str = "wrk") -> GeneratorRun:
    run = GeneratorRun(int(rps * 2), 0, {}, 2.0, rps, {}, 10.0, cpu_seconds=cpu_s, wall_s=2.0)
    run.command = [tool]
    return run


def test_judge_bound_by_generator_cpu_target_share_and_pace() -> None:
    spec = LoadSpec(url="", keepalive=True, connections=64, duration_s=2, cpus=(0,))
    # the generator at 97% of its core
    assert rounds.judge_bound(_run(1e4, 1.94), spec, 97.0, 90.0, 1)[0]
    # the target at 90% of its core, the generator at 60%: the server's own figure
    assert rounds.judge_bound(_run(1e4, 1.2), spec, 60.0, 90.0, 1) == (False, None)
    # neither busy: too few connections, the load was the limit
    bound, why = rounds.judge_bound(_run(1e3, 0.2), spec, 10.0, 12.0, 1)
    assert bound and why is not None and "12% of its 1 core(s)" in why and "the load" in why
    # the same share while other processes used what the target left: the machine, not the load
    bound, why = rounds.judge_bound(_run(1e3, 0.2), spec, 10.0, 24.0, 1, other_cpu_percent=120.0)
    assert bound and why is not None and "the busy machine" in why and "120%" in why
    bound, why = rounds.judge_bound(_run(1e3, 0.2), spec, 10.0, 24.0, 1, other_cpu_percent=30.0)
    assert bound and why is not None and "the load" in why
    paced = LoadSpec(url="", keepalive=True, connections=64, duration_s=2, rate=2000.0)
    assert rounds.judge_bound(_run(1990.0, 0.3, "locust"), paced, 15.0, 5.0, 1) == (False, None)
    assert rounds.judge_bound(_run(1500.0, 0.3, "locust"), paced, 15.0, 5.0, 1)[0]


def test_a_round_cut_short_is_named_and_a_counted_one_never() -> None:
    spec = LoadSpec(url="", keepalive=True, connections=64, duration_s=2)
    full, starved = _run(1e4, 1.0), _run(1e4, 1.0)
    starved.duration_s = 0.03
    assert rounds.cut_short(full, spec) is None
    assert rounds.cut_short(starved, spec) == "the load ran 0.03 s of the 2 s planned"
    by_count = LoadSpec(url="", keepalive=True, connections=64, duration_s=2, requests=1000)
    assert rounds.cut_short(starved, by_count) is None  # ab with -n runs as long as it takes
