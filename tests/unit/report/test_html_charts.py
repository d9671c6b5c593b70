"""report.html and its SVG charts: self-contained, the same tables, charts with real marks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakes import rundir as fake

from swarmbench.cli import main
from swarmbench.report import html, svg, writer


def test_nice_ticks_cover_the_top_with_round_steps() -> None:
    assert svg.nice_ticks(50_000) == [0, 10_000, 20_000, 30_000, 40_000, 50_000]
    assert svg.nice_ticks(0.9)[-1] >= 0.9
    assert svg.nice_ticks(0) == [0.0, 1.0]
    assert svg.tick_label(20_000) == "20k"
    assert svg.tick_label(2_500_000) == "2.5M"


def test_bar_chart_draws_one_bar_per_value_and_marks_missing_ones() -> None:
    chart = svg.bar_chart(
        ["tokio", "node-std"], [("on", [100.0, 50.0]), ("off", [20.0, None])], "rps", "req/s"
    )
    heights = [float(h) for h in re.findall(r"class='bar'[^>]*height='([\d.]+)'", chart)]
    assert len(heights) == 3
    # grouped by category: tokio on 100, tokio off 20, node-std on 50, on one scale
    assert heights[0] == pytest.approx(5 * heights[1], rel=0.01)
    assert heights[0] == pytest.approx(2 * heights[2], rel=0.01)
    assert ">n/a</text>" in chart
    assert "<script" not in chart


def test_line_chart_and_percentile_chart_draw_paths() -> None:
    line = svg.line_chart(
        [("tokio", [[0, 1.0], [1, 2.0], [2, 1.5]])], "CPU", "cores", window=[0, 2]
    )
    assert re.search(r"class='line' d='M[\d.]+,[\d.]+ L[\d.]+,[\d.]+ L", line)
    empty = svg.line_chart([("tokio", [])], "CPU", "cores")
    assert "no samples" in empty
    pct = svg.percentile_chart(["p50", "p99", "max"], [("a", [100.0, 1000.0, 10_000.0])], "t", "µs")
    ys = [float(y) for y in re.findall(r"<circle cx='[\d.]+' cy='([\d.]+)'", pct)]
    # a log axis: each decade is the same height
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2], abs=0.2)
    assert ">100<" in pct and ">10k<" in pct


def test_html_is_self_contained_and_holds_the_sections(tmp_path: Path) -> None:
    fake.build(tmp_path, same_traffic=True)
    paths = writer.write(tmp_path)
    assert paths == [tmp_path / "report.md", tmp_path / "report.html"]
    html = (tmp_path / "report.html").read_text()
    assert not re.search(r"""(src|href)=['"]?https?:""", html)
    assert "<script" not in html and "@import" not in html
    for heading in (
        "Overview", "Results", "Published vs measured", "Findings", "Latency distributions",
        "Over time, per cell", "Systems", "Same traffic: CPU at the same offered load",
        "The article's claims, checked by this run",
    ):  # fmt: skip
        assert f">{heading}</h" in html, heading
    # bars: requests/s and CPU µs/req for 3 generators; lines: throughput and CPU per cell
    # the answers come first: claims, then the same traffic, then everything else
    assert html.index("claims, checked") < html.index("Same traffic") < html.index(">Overview<")
    assert html.count("<svg") >= 6 + 4 + 6 + 42 + 2
    assert html.count("class='bar'") > 100
    assert html.count("class='line'") >= 42 + 42
    assert not list(tmp_path.glob(".report*"))  # no temp file left behind


def test_html_says_why_a_cell_has_no_time_series(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, systems=("tokio",), generators=("wrk",))
    fake.alter(rundir, "tokio", "on", "wrk", prometheus={"available": False, "reason": "down"})
    writer.write(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "server figures from Prometheus missing: down" in html


def test_report_command_rebuilds_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.build(tmp_path, systems=("tokio",), generators=("wrk",))
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").exists() and (tmp_path / "report.html").exists()
    assert str(tmp_path / "report.html") in capsys.readouterr().out


def test_report_command_refuses_a_folder_without_run_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a swarmbench results folder" in err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_latency_curve_draws_a_percentile_under_the_resolution_at_the_resolution(
    tmp_path: Path,
) -> None:
    rundir = fake.build(tmp_path, systems=("tokio",), generators=("ab",))
    fake.alter(rundir, "tokio", "on", "ab", latency_us={"p50": 0.0, "p90": 2000.0, "max": 9e3})
    cell = next(c for c in rundir.cells() if c.keepalive == "on")
    assert html._percentiles(cell) == [1000.0, 2000.0, None, None, 9000.0]
