"""Thresholds: which way each figure may not go, what a miss says, and the options' values."""

from __future__ import annotations

import pytest

from swarmbench.engine.locust_thresholds import Figures, Threshold, check, missed

RESULT = {"requests": 1000, "failures": 25, "rps": 812.4, "latency_us": {"p99": 1234}}


def test_figures_of_a_latency_json() -> None:
    figures = Figures.from_latency_json(RESULT)
    assert figures == Figures(p99_us=1234, failure_ratio=0.025, rps=812.4)
    assert Figures.from_latency_json({**RESULT, "requests": 0}) == Figures()


def test_each_miss_names_the_measured_figure_the_limit_and_the_option() -> None:
    thresholds = [
        Threshold("p99_us", 1000, "--max-p99-us"),
        Threshold("failure_ratio", 0.01, "--max-failure-ratio"),
        Threshold("rps", 1000, "--min-rps"),
        Threshold("rps", 800, "--min-rps"),
        Threshold("cpu_us_per_request", 50, "--max-cpu"),
    ]
    outcomes = check(thresholds, Figures.from_latency_json(RESULT))
    assert [o.passed for o in outcomes] == [False, False, False, True, False]
    assert [o.message() for o in missed(outcomes)] == [
        "p99 1,234 us > 1,000 us (--max-p99-us)",
        "failure ratio 0.025 > 0.01 (--max-failure-ratio)",
        "requests/s 812.4 < 1,000 (--min-rps)",
        "target CPU per request: not measured, limit 50 us (--max-cpu)",
    ]
    assert outcomes[3].message() == "requests/s 812.4 >= 800 (--min-rps)"
    assert outcomes[0].as_dict() == {
        "figure": "p99_us", "limit": 1000, "measured": 1234, "passed": False,
        "source": "--max-p99-us",
    }  # fmt: skip


def test_a_limit_met_exactly_passes() -> None:
    outcomes = check([Threshold("p99_us", 1234, "x"), Threshold("rps", 812.4, "y")],
                     Figures.from_latency_json(RESULT))  # fmt: skip
    assert all(o.passed for o in outcomes)


def test_an_unknown_figure_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown figure 'p95'"):
        Threshold("p95", 1, "x")
