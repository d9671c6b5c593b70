"""`swarmbench bench` end to end: real targets, wrk, Locust, a real Prometheus."""

from __future__ import annotations

import csv
import json
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

SYSTEMS = "rust-std,node-std"
QUICK = ["--duration", "2s", "--warmup", "1s", "--users", "8"]


def bench(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "swarmbench", "bench", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("bench") / "run"
    proc = bench("--systems", SYSTEMS, "--generators", "locust,wrk", *QUICK, "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stderr


def test_every_cell_is_measured(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    rows = list(csv.DictReader((out / "summary.csv").open()))
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    cells = {(r["system"], r["keepalive"], r["generator"]) for r in rows}
    assert len(cells) == 8
    for row in rows:
        assert not row["verdict"].startswith(("failed", "skipped")), row
        # > 0, not a rate: a 2 s cell on a machine other runs keep busy may serve only dozens.
        assert int(row["requests"]) > 0, row
        assert float(row["rps"]) > 0
        assert float(row["cpu_us_per_request"]) > 0
        assert int(row["rss_peak_bytes"]) > 0
        assert row["generator_bound"] in {"true", "false"}


def test_cells_hold_conditions_and_prometheus_figures(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    run = json.loads((out / "run.json").read_text())
    assert run["placement"]["target"] != run["placement"]["generator"]
    assert run["versions"]["python_packages"]["locust"]
    for path in (out / "cells").glob("*.json"):
        cell = json.loads(path.read_text())
        assert cell["conditions"]["connections"] == 8
        assert all(check["ok"] for check in cell["verification"])
        assert cell["other_cpu_percent"] is not None and cell["other_cpu_percent"] >= 0
        prom = cell["prometheus"]
        assert prom["available"], (path.name, prom)
        assert prom["series"]["Target CPU cores"], path.name
        if cell["generator"] == "locust":
            assert prom["series"]["Throughput"], path.name
            assert cell["latency_us"]["p99.9"] is not None


def test_report_written(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    assert "node-std" in (out / "report.md").read_text()
    assert (out / "report.html").stat().st_size > 1000


def test_rerun_resumes_and_skips_finished_cells(finished_run: tuple[Path, str]) -> None:
    out, _ = finished_run
    before = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    started = time.monotonic()
    proc = bench("--systems", SYSTEMS, "--generators", "locust,wrk", *QUICK, "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("done before, skipped") == 8
    after = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert after == before
    assert time.monotonic() - started < 60


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
    assert not owned_processes(str(out))


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
    assert kept.stderr.count("done before, skipped") == 2, kept.stderr[-2000:]
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
    assert mixed.stderr.count("done before, skipped") == 1  # the failed one runs again
    assert "failed before (failed: injected again), again" in mixed.stderr
    resumed = RunDir(out).read_run().resumed
    assert [r["differences"] for r in resumed] == [["profile.duration_s 3.0 -> 4.0"]]
