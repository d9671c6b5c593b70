"""LatencyHistogram: exact merge, compact encoding, the fast record path, Prometheus counts."""

from __future__ import annotations

import random

import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given, settings
from hypothesis import strategies as st

from swarmbench.engine.latency import HIGHEST_US, LatencyHistogram

QUANTILES = (0.0, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 100)


def _filled(values: list[int]) -> LatencyHistogram:
    hist = LatencyHistogram()
    for value in values:
        hist.record(value)
    return hist


def test_fast_record_matches_the_package_bucket_for_bucket() -> None:
    rng = random.Random(7)
    values = [int(rng.lognormvariate(6, 2)) for _ in range(20_000)]
    values += [0, 1, 2, 1023, 1024, 2047, 2048, 4095, 4096, 1_000_000, HIGHEST_US]
    ours = _filled(values)
    theirs = HdrHistogram(1, HIGHEST_US, 3)
    for value in values:
        theirs.record_value(min(value, HIGHEST_US))
    assert list(ours._hist.counts) == list(theirs.counts)
    assert ours.count == theirs.get_total_count() == len(values)
    assert ours.max_us == theirs.get_max_value()
    for q in QUANTILES:
        assert ours.percentile_us(q) == theirs.get_value_at_percentile(q)


def test_merged_percentiles_equal_those_of_the_union_of_samples() -> None:
    rng = random.Random(11)
    # Two workers with known, different distributions: one fast and tight, one slow and wide.
    fast = [rng.randint(50, 400) for _ in range(30_000)]
    slow = [int(rng.expovariate(1 / 5_000)) + 1_000 for _ in range(10_000)]
    merged = _filled(fast)
    merged.merge(LatencyHistogram.decode(_filled(slow).encode()))
    union = _filled(fast + slow)
    assert merged.count == len(fast) + len(slow)
    for q in QUANTILES:
        assert merged.percentile_us(q) == union.percentile_us(q)
    assert merged.mean_us == pytest.approx(union.mean_us)
    # ... and within HDR's 3 significant digits of the exact order statistics.
    exact = sorted(fast + slow)
    for q in (50, 90, 99, 99.9):
        rank = max(0, round(q / 100 * len(exact)) - 1)
        assert merged.percentile_us(q) == pytest.approx(exact[rank], rel=2e-3, abs=1)


def test_encoding_round_trips_and_a_report_is_small() -> None:
    rng = random.Random(3)
    hist = _filled([int(rng.gauss(300, 60)) + 1 for _ in range(50_000)])
    text = hist.encode()
    assert len(text) < 4096
    back = LatencyHistogram.decode(text)
    assert back.count == hist.count
    assert back.summary() == hist.summary()


def test_empty_histogram_reports_zeros() -> None:
    hist = LatencyHistogram()
    assert hist.count == 0
    assert hist.percentile_us(99) == 0
    assert hist.max_us == 0
    assert hist.mean_us == 0.0
    assert hist.cumulative_counts([100, 1000]) == [0, 0]
    assert LatencyHistogram.decode(hist.encode()).count == 0


def test_values_beyond_sixty_seconds_are_clamped_not_lost() -> None:
    hist = _filled([10, HIGHEST_US * 5, -3])
    assert hist.count == 3
    assert hist.max_us >= HIGHEST_US
    assert hist.percentile_us(0) == 0


def test_cumulative_counts_count_samples_at_or_below_each_bound() -> None:
    hist = _filled([50] * 3 + [100] * 4 + [1_000] * 5 + [20_000] * 2)
    assert hist.cumulative_counts([49, 50, 99, 100, 999, 1_000, 10_000, 100_000]) == [
        0,
        3,
        3,
        7,
        7,
        12,
        12,
        14,
    ]


def test_reset_and_copy() -> None:
    hist = _filled([5, 6, 7])
    twin = hist.copy()
    hist.reset()
    assert hist.count == 0
    assert twin.count == 3


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=-5, max_value=2 * HIGHEST_US), min_size=1, max_size=300))
def test_mean_is_the_packages_mean(samples: list[int]) -> None:
    """mean_us sums buckets in blocks; HdrHistogram walks its recorded values: same figure."""
    hist = LatencyHistogram()
    for value in samples:
        hist.record(value)
    assert hist.mean_us == pytest.approx(hist._hist.get_mean_value(), rel=1e-12)
