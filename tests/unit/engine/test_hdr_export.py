"""The HdrHistogram files: what hdrh's own reader finds in the interval log, the file names."""

from __future__ import annotations

from pathlib import Path

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from swarmbench.engine.hdr_export import IntervalLog, file_slug, tag, write_distributions
from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.worker_report import NameTally


def _delta(*micros: int) -> bytes:
    hist = LatencyHistogram()
    for value in micros:
        hist.record(value)
    return hist.encode_delta()


def test_the_interval_log_reads_back_interval_by_interval(tmp_path: Path) -> None:
    log = IntervalLog(tmp_path / "run.hlog", started=1000.0)
    log.add(("GET", "/a b,c"), _delta(100, 200))
    log.add(("GET", "/"), _delta(300))
    log.write_interval(1003.0)
    log.write_interval(1006.0)  # nothing merged: no line
    log.add(("GET", "/"), _delta(400, 500, 600))
    log.close(1009.0)
    log.add(("GET", "/"), _delta(700))  # a report merged after the run's end: not written
    reader = HistogramLogReader(str(tmp_path / "run.hlog"), HdrHistogram(1, 60_000_000, 3))
    found = []
    while (hist := reader.get_next_interval_histogram()) is not None:
        start = hist.get_start_time_stamp() / 1000 - reader.get_start_time_sec()
        found.append((round(start), hist.get_tag(), hist.get_total_count()))
    reader.close()
    assert found == [(0, "GET:/", 1), (0, "GET:/a_b_c", 2), (0, None, 3), (6, "GET:/", 3),
                     (6, None, 3)]  # fmt: skip


def test_names_and_files(tmp_path: Path) -> None:
    assert tag(("POST", "/x y")) == "POST:/x_y"
    assert file_slug(("GET", "/")) == "GET_root"
    assert file_slug(("GET", "/api/v1/items?id=3")) == "GET_api_v1_items_id_3"
    names = {("GET", "/a?"): NameTally(), ("GET", "/a!"): NameTally()}
    paths = write_distributions(str(tmp_path / "p"), LatencyHistogram(), names)
    assert [p.name for p in paths] == ["p.hgrm", "p.GET_a.hgrm", "p.GET_a_.hgrm"]
    assert "TotalCount     =        0.000" in paths[1].read_text()
