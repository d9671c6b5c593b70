"""The worker report's format: what take_payload writes, read_report reads back, and which
names' histograms travel when."""

from __future__ import annotations

import msgpack

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.worker_report import (
    HISTOGRAMS_PER_REPORT,
    REPORT_KEY,
    NameReport,
    NameTally,
    WorkerReport,
    read_report,
    take_payload,
)


def test_a_payload_reads_back_after_msgpack_as_sent() -> None:
    hist = LatencyHistogram()
    for us in (120, 450, 9_000):
        hist.record(us)
    names = {
        ("GET", "/"): NameTally(hist, 3, 1),
        ("POST", "/idle"): NameTally(),  # no requests this interval: not sent
    }
    delta = hist.encode_delta()
    payload = take_payload(names, {"timeout": 1}, 0.8, 1.0, final=True)
    # Locust's rpc sends message data with msgpack.
    data = msgpack.unpackb(msgpack.packb({REPORT_KEY: payload, "stats": []}), raw=False)
    report = read_report(data)
    assert report is not None
    assert report == WorkerReport(
        names=(NameReport("GET", "/", delta, 3, 1),),
        requests=3,
        failures={"timeout": 1},
        cpu_seconds=0.8,
        wall_seconds=1.0,
        final=True,
    )
    # Taken: the name's counts and histogram restarted.
    assert hist.count == 0 and names[("GET", "/")].requests == 0


def test_many_names_send_their_histograms_in_turns_and_the_final_report_all() -> None:
    names = {("GET", f"/{i}"): NameTally() for i in range(10)}
    merged: dict[str, LatencyHistogram] = {f"/{i}": LatencyHistogram() for i in range(10)}
    sent_per_report = []
    for report_no in range(4):
        for i, tally in enumerate(names.values()):
            tally.latency.record(100 + i)
            tally.requests += 1
        final = report_no == 3
        report = read_report({REPORT_KEY: take_payload(names, {}, 0.1, 3.0, final=final)})
        assert report is not None
        assert report.requests == 10  # every name's counts, every report
        sent = [part.name for part in report.names if part.histogram]
        sent_per_report.append(len(sent))
        for part in report.names:
            merged[part.name].merge_delta(part.histogram)
    assert sent_per_report == [HISTOGRAMS_PER_REPORT] * 3 + [10]
    # Nothing lost: each name's four samples arrived, however late.
    assert all(hist.count == 4 for hist in merged.values())
    assert all(t.latency.count == 0 and t.waiting == 0 for t in names.values())


def test_a_report_without_swarmbench_part_reads_as_none() -> None:
    assert read_report({"stats": [], "errors": {}}) is None
