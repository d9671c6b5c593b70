"""The worker report's format: what report_payload writes, read_report reads back."""

from __future__ import annotations

import msgpack

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.worker_report import (
    REPORT_KEY,
    NameReport,
    NameTally,
    WorkerReport,
    read_report,
    report_payload,
)


def test_a_payload_reads_back_after_msgpack_as_sent() -> None:
    hist = LatencyHistogram()
    for us in (120, 450, 9_000):
        hist.record(us)
    names = {
        ("GET", "/"): NameTally(hist, 3, 1),
        ("POST", "/idle"): NameTally(),  # no requests this interval: not sent
    }
    payload = report_payload(names, {"timeout": 1}, 0.8, 1.0, final=True)
    # Locust's rpc sends message data with msgpack.
    data = msgpack.unpackb(msgpack.packb({REPORT_KEY: payload, "stats": []}), raw=False)
    report = read_report(data)
    assert report is not None
    assert report == WorkerReport(
        names=(NameReport("GET", "/", hist.encode_delta(), 3, 1),),
        requests=3,
        failures={"timeout": 1},
        cpu_seconds=0.8,
        wall_seconds=1.0,
        final=True,
    )
    merged = LatencyHistogram()
    merged.merge_delta(report.names[0].histogram)
    assert merged.count == 3


def test_a_report_without_swarmbench_part_reads_as_none() -> None:
    assert read_report({"stats": [], "errors": {}}) is None
