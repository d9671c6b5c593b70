"""`swarmbench bench` end to end: real targets, wrk, Locust, a real Prometheus."""

from __future__ import annotations

import csv
import itertools
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from fakes import rundir as fake_rundir
from fakes.owned import owned_processes

from swarmbench.results import SUMMARY_COLUMNS, RunDir
from swarmbench.telemetry.metrics import SCRAPE_SETTLE_S

SYSTEMS = "rust-std,node-std"
GENERATORS = "locust,wrk,ab"
#: 2 rounds of 1 s per cell, and the same traffic at 50% of the slowest system: about a minute
QUICK = ["--duration", "1s", "--warmup", "1s", "--users", "8", "--rounds", "2"]
SAME = ["--same-traffic", "50"]
#: Prometheus' CPU over a round against psutil's: the scrapes land within a second of the
#: window's edges, where the target is idle (no load on its server starts within a scrape of
#: another's end), so the two agree to this share (or CPU-seconds, for nearly idle rounds).
#: Measured: within 0.01 s in 96 rounds of this run's settings; 0.08-0.12 s off in 3 of 3
#: runs before that rule held for two systems taking turns.
PROMETHEUS_TOLERANCE = 0.15
PROMETHEUS_TOLERANCE_S = 0.05


def bench(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "swarmbench", "bench", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("bench") / "run"
    cmd = ["--systems", SYSTEMS, "--generators", GENERATORS, *QUICK, *SAME, "--out", str(out)]
    proc = bench(*cmd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stderr


def test_every_cell_is_measured_in_interleaved_rounds(finished_run: tuple[Path, str]) -> None:
    out, stderr = finished_run
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    flat = {(r["system"], r["keepalive"], r["generator"]) for r in rows if r["load_percent"] == "0"}
    assert len(flat) == 12  # ab included: it runs end to end as in the default matrix
    for row in rows:
        assert not row["verdict"].startswith(("failed", "skipped")), row
        # > 0, not a rate: a 1 s round on a machine other runs keep busy may serve only dozens.
        assert int(row["requests"]) > 0, row
        assert float(row["rps"]) > 0
        assert float(row["cpu_us_per_request"]) > 0
        assert int(row["rss_peak_bytes"]) > 0
        assert row["generator_bound"] in {"true", "false"}
        assert row["rounds"] == "2"
        assert float(row["rps_low"]) <= float(row["rps"]) <= float(row["rps_high"])
    # A B A B: the second round of a cell comes after every cell's first
    order = [line for line in stderr.splitlines() if ", round " in line]
    assert order.index(next(x for x in order if "round 2/2" in x)) >= 12
    assert "phase: saturation" in stderr and "phase: same traffic" in stderr


def test_same_traffic_phase_runs_every_system_at_one_rate(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    same = [json.loads(p.read_text()) for p in (out / "cells").glob("*.same-traffic-50pct.json")]
    assert len(same) == 4  # 2 systems x 2 modes
    refs = json.loads((out / "same-traffic.json").read_text())["references"]
    for cell in same:
        assert cell["offered_rps"] == round(refs[cell["keepalive"]]["rps"] / 2)
        assert cell["generator"] == "locust" and cell["conditions"]["rate"] == cell["offered_rps"]
        assert cell["target_cpu_percent"] > 0 and cell["rss_peak_bytes"] > 0
        assert cell["latency_us"]["p99"] is not None


def test_prometheus_cpu_agrees_with_psutil_round_by_round(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    checked, missing = 0, []
    for path in (out / "cells").glob("*.json"):
        for rnd in json.loads(path.read_text())["rounds"]:
            direct, prom = rnd["target_cpu_seconds"], rnd["prometheus_cpu_seconds"]
            if prom is None:  # a read that failed three times says why
                missing.append((path.name, rnd["index"], rnd["prometheus_reason"]))
                continue
            allowed = max(PROMETHEUS_TOLERANCE * direct, PROMETHEUS_TOLERANCE_S)
            assert abs(prom - direct) <= allowed, (path.name, rnd["index"], direct, prom)
            checked += 1
    # On a busy machine a read can miss (seen once in 32); more is a fault of the read-back.
    assert len(missing) <= 1, missing
    assert checked + len(missing) == 2 * 16


def test_loads_on_one_server_are_a_scrape_apart(finished_run: tuple[Path, str]) -> None:
    # Two systems take turns, so a server's next round comes one short round after its last:
    # sooner than a scrape, Prometheus' reading at one window's end would hold the next's CPU.
    out, _ = finished_run
    windows: dict[str, list[tuple[float, float]]] = {}
    for path in (out / "cells").glob("*.json"):
        cell = json.loads(path.read_text())
        windows.setdefault(cell["system"], []).extend(tuple(r["window"]) for r in cell["rounds"])
    for system, spans in windows.items():
        spans.sort()
        gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(spans)]
        assert min(gaps) >= SCRAPE_SETTLE_S, (system, sorted(gaps)[:3])


def test_report_answers_first(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    md = (out / "report.md").read_text()
    first = md.split("\n## ", 2)[1]
    assert first.startswith("The article's claims, checked by this run")
    verdicts = re.findall(r"\| \*\*(reproduced|refuted|not testable here)\*\* \|", first)
    assert len(verdicts) == 8, first
    assert md.index("## Same traffic") < md.index("## Results")
    assert "| keep-alive on | " in md.split("## Same traffic", 1)[1].split("## Results")[0]
    assert "interleaved rounds" in md
    # Rankings carry intervals, and say which systems this run cannot tell apart.
    assert "| rank | system | requests/s | interval |" in md
    assert "indistinguishable in this run" in md
    # The HTML's first sections: the claims, then the same traffic with its chart.
    html = (out / "report.html").read_text()
    same = html.split("<h2>Same traffic", 1)[1].split("<h2>", 1)[0]
    assert html.index("<h2>The article's claims") < html.index("<h2>Same traffic")
    chart = same.split("class='chart xy'", 1)[1].split("</svg>", 1)[0]
    assert chart.count("<circle") >= 2 and "rust-std" in chart and "node-std" in chart


def test_cells_hold_conditions_and_prometheus_figures(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    run = json.loads((out / "run.json").read_text())
    assert run["placement"]["target"] != run["placement"]["generator"]
    assert run["versions"]["python_packages"]["locust"]
    throughput = []
    outside_window: list[float] = []
    for path in (out / "cells").glob("*.json"):
        cell = json.loads(path.read_text())
        assert cell["conditions"]["connections"] == 8
        assert all(check["ok"] for check in cell["verification"])
        assert cell["other_cpu_percent"] is not None and cell["other_cpu_percent"] >= 0
        # Measured on every local round (0 on bare metal), not left unknown.
        assert all(r["steal_cpu_percent"] >= 0 for r in cell["rounds"]), path.name
        prom = cell["prometheus"]
        assert prom["available"], (path.name, prom)
        assert prom["series"]["Target CPU cores"], path.name
        if cell["generator"] == "locust":
            throughput.append(bool(prom["series"]["Throughput"]))
            assert cell["latency_us"]["p99.9"] is not None
            for rnd in cell["rounds"]:
                details = rnd["events"][0]["generator_details"]
                window = sum(w["cpu_seconds"] for w in details["workers"].values())
                whole = rnd["generator_cpu_percent"] / 100 * details["wall_s"]
                outside_window.append(whole - window)
    # A Locust round's generator CPU is its process's over the whole round, as a wrk round's
    # is: its workers' reports cover only the measured window, and the rest (starting and
    # stopping users, the final report, the web API) would count as other processes' and flag
    # a calm machine as busy. Summed over the rounds, so psutil's 10 ms ticks cannot hide it.
    assert min(outside_window) > -0.02 and sum(outside_window) > 0.01, outside_window
    # A 10 s rate needs two scrapes of a Locust process that lives about 2 s per 1 s round:
    # most cells have the panel, not necessarily every one.
    assert sum(throughput) >= len(throughput) // 2, throughput


def test_report_written(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    assert "node-std" in (out / "report.md").read_text()
    assert (out / "report.html").stat().st_size > 1000


def test_rerun_resumes_and_skips_finished_cells(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    before = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    cmd = ["--systems", SYSTEMS, "--generators", GENERATORS, *QUICK, *SAME, "--out", str(out)]
    proc = bench(*cmd)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("skipped (measured before)") == 2 * 12 + 2 * 4
    after = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert after == before


def test_ctrl_c_keeps_finished_cells_and_stops_everything(
    tmp_path: Path, bench_first_cell: Callable[[str, Path], subprocess.Popen[str]]
) -> None:
    out = tmp_path / "run"
    proc = bench_first_cell("node-std", out)
    time.sleep(2.5)  # into the second cell
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    cells = sorted(p.name for p in (out / "cells").glob("*.json"))
    assert cells == ["node-std.keepalive-on.wrk.json"]
    assert not list((out / "cells").glob(".*.tmp"))
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, [p.cmdline() for p in alive]
    # Servers start in their own process groups: what started after the snapshot shows by token.
    _, alive = psutil.wait_procs(owned_processes(str(out)), timeout=10)
    assert not alive, [p.cmdline() for p in alive]


def test_partial_resume_reruns_the_failed_and_missing_cells_only_with_the_same_parameters(
    tmp_path: Path, bench_first_cell: Callable[[str, Path], subprocess.Popen[str]]
) -> None:
    """A run stopped mid-way with one failed cell: the rerun runs that cell again and the one
    never run (with --keep-failed a failed cell stays as it is); other parameters are refused in
    one line unless --resume-anyway."""
    out = tmp_path / "run"
    proc = bench_first_cell("node-std", out)  # wrk, keep-alive on then off, 3 s cells
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    first = RunDir(out).cells()
    assert [c.key.id for c in first] == ["node-std.keepalive-on.wrk"]
    run_id = RunDir(out).read_run().run_id
    fake_rundir.alter(RunDir(out), "node-std", "on", "wrk", verdict="failed: injected")

    same = ["--systems", "node-std", "--generators", "wrk", "--duration", "3s", "--warmup", "1s"]
    rerun = bench(*same, "--out", str(out), timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "failed before (failed: injected), again" in rerun.stderr
    cells = {c.key.id: c for c in RunDir(out).cells()}
    assert set(cells) == {"node-std.keepalive-on.wrk", "node-std.keepalive-off.wrk"}
    assert all(not c.failed for c in cells.values()), [c.verdict for c in cells.values()]
    assert cells["node-std.keepalive-on.wrk"].started_at > first[0].started_at
    assert RunDir(out).read_run().run_id == run_id

    fake_rundir.alter(RunDir(out), "node-std", "off", "wrk", verdict="failed: injected again")
    kept = bench(*same, "--keep-failed", "--out", str(out), timeout=120)
    assert kept.returncode == 0, kept.stderr[-2000:]
    assert kept.stderr.count("skipped (measured before)") == 3, kept.stderr[-2000:]  # rounds
    assert kept.stderr.count("skipped (failed: injected again)") == 3, kept.stderr[-2000:]
    assert RunDir(out).finished(cells["node-std.keepalive-off.wrk"].key).verdict == (
        "failed: injected again"
    )

    other = [*same[:-3], "4s", "--warmup", "1s"]
    refused = bench(*other, "--out", str(out), timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()]
    assert "profile.duration_s 3.0 -> 4.0" in refused.stderr
    assert "Traceback" not in refused.stderr

    mixed = bench(*other, "--resume-anyway", "--out", str(out), timeout=120)
    assert mixed.returncode == 0, mixed.stderr[-2000:]
    # 3 rounds each: the measured cell's skipped, the failed one's measured again
    assert mixed.stderr.count("skipped (measured before)") == 3, mixed.stderr[-2000:]
    assert "failed before (failed: injected again), again" in mixed.stderr
    resumed = RunDir(out).read_run().resumed
    assert [r["differences"] for r in resumed] == [["profile.duration_s 3.0 -> 4.0"]]
