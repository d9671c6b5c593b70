"""The worker report's histogram delta: exact when merged, smaller than the V2 text, cheap."""

from __future__ import annotations

import random

import msgpack
import pytest

from swarmbench.engine.latency import HIGHEST_US, LatencyHistogram


def _interval(seed: int, n: int, mu: float = 6.2) -> LatencyHistogram:
    rng = random.Random(seed)
    hist = LatencyHistogram()
    for _ in range(n):
        hist.record(int(rng.lognormvariate(mu, 0.7)))
    return hist


def test_merged_deltas_equal_merged_histograms_bucket_for_bucket() -> None:
    intervals = [_interval(seed, 20_000, 5.5 + seed / 2) for seed in range(5)]
    intervals[2].record(0)
    intervals[3].record(HIGHEST_US * 2)
    by_delta, by_v2 = LatencyHistogram(), LatencyHistogram()
    for hist in intervals:
        by_delta.merge_delta(hist.encode_delta())
        by_v2.merge(LatencyHistogram.decode(hist.encode()))
    assert list(by_delta._hist.counts) == list(by_v2._hist.counts)
    assert by_delta.count == by_v2.count == 100_002
    assert by_delta.summary() == by_v2.summary()
    assert by_delta.percentile_us(0) == 0
    assert by_delta.max_us >= HIGHEST_US


def test_a_delta_round_trips_through_locusts_msgpack_as_bytes() -> None:
    hist = _interval(1, 120_000)
    delta = hist.encode_delta()
    # Locust's Message.serialize is msgpack.dumps; bytes travel as bin, no base64.
    back = msgpack.loads(msgpack.dumps({"histogram": delta}), raw=False)["histogram"]
    twin = LatencyHistogram()
    twin.merge_delta(back)
    assert twin.summary() == hist.summary()


def test_a_busy_workers_delta_is_under_3_kb_and_smaller_than_the_v2_text() -> None:
    hist = _interval(2, 120_000)  # 40,000 req/s for Locust's 3 s report interval
    delta = hist.encode_delta()
    assert len(delta) < 3072
    assert len(delta) < 0.8 * len(hist.encode())


def test_empty_delta_is_empty_and_merges_to_nothing() -> None:
    assert LatencyHistogram().encode_delta() == b""
    hist = _interval(3, 100)
    before = hist.summary()
    hist.merge_delta(b"")
    assert hist.summary() == before


def test_a_foreign_payload_is_refused() -> None:
    with pytest.raises(ValueError, match="not a latency delta"):
        LatencyHistogram().merge_delta(b"\x07" + bytes(8) + b"junk")
