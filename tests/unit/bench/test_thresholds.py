"""Thresholds: their syntax, and which cells miss them by how much."""

from __future__ import annotations

import argparse

import pytest

from swarmbench.bench import thresholds
from swarmbench.results import CellResult


def _cell(system: str, generator: str = "locust", **figures: object) -> CellResult:
    cell = CellResult(system, "on", generator, verdict=str(figures.pop("verdict", "ok")))
    for name, value in figures.items():
        setattr(cell, name, value)
    return cell


def test_parse_reads_system_metric_operator_and_limit() -> None:
    assert thresholds.parse("p99_us<2000") == thresholds.Threshold("p99_us", "<", 2000.0)
    assert thresholds.parse("my-app:rps >= 5e3") == thresholds.Threshold(
        "rps", ">=", 5000.0, "my-app"
    )


@pytest.mark.parametrize(
    ("text", "needle"),
    [("p99<1", "unknown metric 'p99'"), ("rps>fast", "not a number"), ("rps", "bad threshold")],
)
def test_parse_refuses_bad_text(text: str, needle: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=needle):
        thresholds.parse(text)


def test_check_names_each_miss_and_by_how_much() -> None:
    cells = [
        _cell("a", rps=900.0, requests=900, failures=0, latency_us={"p99": 1500.0}),
        _cell("b", rps=2000.0, requests=1980, failures=20, latency_us={"p99": 2500.0}),
        _cell("b", "ab", verdict="skipped: count, not duration"),
        _cell("c", verdict="failed: verification (status 200)"),
    ]
    limits = [thresholds.parse(t) for t in ("p99_us<2000", "a:rps>=1000", "failure_ratio<0.005")]
    misses = thresholds.check(limits, cells)
    found = [(m.threshold.text, m.cell.system, m.value) for m in misses]
    assert found == [
        ("p99_us<2000", "b", 2500.0),
        ("p99_us<2000", "c", None),
        ("a:rps>=1000", "a", 900.0),
        ("failure_ratio<0.005", "b", 0.01),
        ("failure_ratio<0.005", "c", None),
    ]
    assert "p99_us 2,500 µs, limit <2,000 (missed by 500 µs, 25.0%)" in misses[0].text
    assert "n/a (failed: verification (status 200))" in misses[1].text
    assert thresholds.unknown_systems(limits, ("b", "c")) == ["a"]


def test_a_cpu_threshold_on_unknown_figures_is_a_miss_that_says_why() -> None:
    reason = "the monitor's Prometheus could not be read: HTTP 502"
    cell = _cell("a", rps=900.0, requests=900, target_figures_missing=reason)
    misses = thresholds.check([thresholds.parse("cpu_us_per_request<50")], [cell])
    assert [m.value for m in misses] == [None]
    assert f"cpu_us_per_request (target CPU per request) unknown ({reason})" in misses[0].text
