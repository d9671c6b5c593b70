"""Medians, order-statistic intervals and their coverage, and ranking groups."""

from __future__ import annotations

import pytest

from swarmbench.util import stats


def test_three_rounds_give_min_to_max_at_75_percent() -> None:
    est = stats.estimate([30.0, 10.0, 20.0])
    assert est is not None
    assert (est.median, est.low, est.high, est.n) == (20.0, 10.0, 30.0, 3)
    assert est.coverage == pytest.approx(0.75)


def test_more_rounds_narrow_the_interval_while_keeping_90_percent() -> None:
    est = stats.estimate([float(v) for v in range(1, 11)])  # 10 rounds
    assert est is not None
    # x(2)..x(9) covers 1 - 2 * (1 + 10) / 1024 = 97.9%; x(3)..x(8) 89%: too little
    assert (est.low, est.high) == (2.0, 9.0)
    assert est.coverage == pytest.approx(1 - 22 / 1024)
    one = stats.estimate([5.0])
    assert one is not None and (one.low, one.high, one.coverage) == (5.0, 5.0, 1.0)
    assert stats.estimate([]) is None


def test_groups_chain_overlapping_intervals() -> None:
    estimates = {
        "a": stats.Estimate(100, 95, 105, 3, 0.75),
        "b": stats.Estimate(90, 80, 96, 3, 0.75),  # overlaps a
        "c": stats.Estimate(70, 60, 79, 3, 0.75),  # clear of b
        "d": stats.Estimate(50, 40, 55, 3, 0.75),
    }
    groups = stats.rank_groups(list(estimates), lambda k: estimates[k])
    assert groups == [["a", "b"], ["c"], ["d"]]
