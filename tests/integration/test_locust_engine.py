"""The locustfile end to end: real Locust processes against the fake server on loopback."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fakes.locust_runs import tracebacks

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.util import processes

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "locustfiles" / "http.py"
LOCUST = str(Path(sys.executable).parent / "locust")
RUN_TIMEOUT_S = 60


def _locust(*args: str) -> list[str]:
    return [LOCUST, "-f", str(LOCUSTFILE), "--metrics-bind", "", *args]


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _locust(*args), check=False, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )


def _headless(cwd: Path, url: str, *args: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run headless; (swarmbench's latency JSON, Locust's own --json-file)."""
    proc = _run(cwd, "--headless", "--host", url, "--csv", "run", "--json-file", "locust", *args)
    assert not tracebacks(proc.stderr), proc.stderr[-3000:]
    result = json.loads((cwd / "run_latency.json").read_text())
    return result, json.loads((cwd / "locust.json").read_text())


def _processes(n: int) -> tuple[str, ...]:
    """--processes N on a private master port: Locust's default (5557) is shared by every run on
    the machine, and two at once swap workers (a run here once counted four of its two)."""
    port = str(processes.free_port())
    return ("--processes", str(n), "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
            "--master-host", "127.0.0.1", "--master-port", port)  # fmt: skip


def _locust_total(entries: list[dict[str, Any]]) -> tuple[int, int]:
    return sum(e["num_requests"] for e in entries), sum(e["num_failures"] for e in entries)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_headless_keepalive_writes_csv_html_and_exact_totals(fake_server, tmp_path) -> None:
    url = fake_server("ok")
    result, locust = _headless(
        tmp_path, url, "-u", "4", "-r", "4", "-t", "3s", "--html", "report.html", "KeepAliveUser"
    )
    assert (tmp_path / "run_stats.csv").exists()
    assert (tmp_path / "report.html").stat().st_size > 1000
    assert result["user_class"] == "KeepAliveUser"
    assert result["requests"] > 100
    assert result["failures"] == 0
    assert (result["requests"], result["failures"]) == _locust_total(locust)
    hist = LatencyHistogram.decode(result["histogram"])
    assert hist.count == result["requests"]
    assert 0 < result["latency_us"]["p50"] <= result["latency_us"]["p99"] <= hist.max_us
    assert result["workers"]["local"]["requests"] == result["requests"]
    assert result["cpu_seconds"] > 0
    assert result["rate"] is None


def test_user_class_is_chosen_by_name(fake_server, tmp_path) -> None:
    result, locust = _headless(tmp_path, fake_server("ok"), "-u", "2", "-t", "2s", "CloseUser")
    assert result["user_class"] == "CloseUser"
    assert result["requests"] > 10
    assert result["failures"] == 0
    assert result["requests"] == _locust_total(locust)[0]


def test_master_totals_equal_the_sum_of_two_workers(fake_server, tmp_path) -> None:
    url = fake_server("ok")
    port = processes.free_port()
    master = subprocess.Popen(
        _locust(
            "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--expect-workers", "2", "--headless", "-u", "6", "-r", "6", "-t", "4s",
            "--host", url, "--csv", "run", "--json-file", "locust", "KeepAliveUser",
        ),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            _locust("--worker", "--master-host", "127.0.0.1", "--master-port", str(port)),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        out, _ = master.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        for proc in (master, *workers):
            _stop(proc)  # type: ignore[arg-type]
    assert not tracebacks(out), out[-3000:]
    result = json.loads((tmp_path / "run_latency.json").read_text())
    locust = json.loads((tmp_path / "locust.json").read_text())
    assert len(result["workers"]) == 2
    assert all(w["requests"] > 0 for w in result["workers"].values())
    assert result["requests"] == sum(w["requests"] for w in result["workers"].values())
    assert (result["requests"], result["failures"]) == _locust_total(locust)
    assert LatencyHistogram.decode(result["histogram"]).count == result["requests"]
    assert result["complete"] is True
    assert "swarmbench latency (us)" in out


def test_processes_two(fake_server, tmp_path) -> None:
    result, locust = _headless(
        tmp_path, fake_server("ok"), *_processes(2), "-u", "4", "-t", "3s", "KeepAliveUser"
    )
    assert len(result["workers"]) == 2
    assert result["requests"] == _locust_total(locust)[0] > 0


def test_fixed_rate_holds_its_rate(fake_server, tmp_path) -> None:
    rate = 300
    url = fake_server("ok")
    seen = []
    # The generator and the fake server share this busy machine with other runs: a run starved
    # of CPU falls behind its schedule. The pacing must hold in one of three runs.
    for attempt in range(3):
        run_dir = tmp_path / str(attempt)
        run_dir.mkdir()
        result, _ = _headless(
            run_dir, url, "-u", "10", "-r", "100", "-t", "5s", "--rate", str(rate), "KeepAliveUser"
        )
        assert result["rate"] == rate
        assert result["failures"] == 0
        assert result["rps"] <= rate * 1.05  # never more than asked, however busy
        seen.append(result["rps"])
        if result["rps"] == pytest.approx(rate, rel=0.05):
            return
    pytest.fail(f"no run held {rate} req/s within 5%: {seen}")


def test_stalled_target_shows_latency_from_intended_start(fake_server, tmp_path) -> None:
    delay_ms = 100
    # One user asked for 20 requests/s from a server that manages 10: each request is due
    # earlier than the last one finished, so the queue (coordinated omission) shows.
    result, _ = _headless(
        tmp_path, fake_server("sleep", delay_ms=delay_ms), "-u", "1", "-t", "4s",
        "--rate", "20", "KeepAliveUser",
    )  # fmt: skip
    lat = result["latency_us"]
    assert result["requests"] >= 10
    assert LatencyHistogram.decode(result["histogram"]).percentile_us(0) >= delay_ms * 1000 * 0.9
    assert lat["p50"] > 3 * delay_ms * 1000  # measured from send it would be ~delay_ms
    assert lat["max"] > lat["p50"]


def test_unreachable_host_counts_refusals(tmp_path) -> None:
    url = f"http://127.0.0.1:{processes.free_port()}/"
    result, locust = _headless(tmp_path, url, "-u", "2", "-t", "2s", "KeepAliveUser")
    assert result["requests"] == result["failures"] > 0
    assert set(result["failures_by_reason"]) == {"refused"}
    assert _locust_total(locust) == (result["requests"], result["failures"])


@pytest.mark.parametrize(
    ("host", "message"),
    [("https://127.0.0.1/", "https is not supported"), ("127.0.0.1:80", "not an http URL")],
)
def test_bad_host_is_one_line_and_exit_2(tmp_path, host: str, message: str) -> None:
    proc = _run(tmp_path, "--headless", "-t", "1s", "--host", host, "KeepAliveUser")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "swarmbench" in line]) == 1


def test_headless_without_host_is_exit_2(tmp_path) -> None:
    proc = _run(tmp_path, "--headless", "-t", "1s", "KeepAliveUser")
    assert proc.returncode == 2
    assert "--host is required" in proc.stderr


def test_web_ui_starts(fake_server, tmp_path) -> None:
    port = processes.free_port()
    ui = subprocess.Popen(
        _locust("--web-host", "127.0.0.1", "--web-port", str(port), "--host", fake_server("ok")),
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        status = 0
        while time.monotonic() < deadline and not status:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    status = resp.status
            except OSError:
                time.sleep(0.2)
        assert status == 200
    finally:
        _stop(ui)


@pytest.mark.parametrize("mode", ["negative-chunk", "unicode-length", "markup"])
def test_a_hostile_server_gives_counted_failures_with_fixed_keys(
    fake_server, tmp_path, mode: str
) -> None:
    """Locust with 2 worker processes ends on time against each: no hang, no traceback; its
    error table has a key per reason, never one per server text."""
    url = fake_server(mode)
    args = ("-u", "4", "-t", "2s", *_processes(2), "KeepAliveUser")
    result, _locust = _headless(tmp_path, url, *args)
    errors = list(csv.DictReader((tmp_path / "run_failures.csv").open()))
    if mode == "markup":  # framed fine; only its Connection handling is off-contract
        assert result["requests"] > 0
        return
    assert result["failures"] == result["requests"] > 0
    assert set(result["failures_by_reason"]) == {"protocol"}
    assert [e["Error"] for e in errors] in (
        ["RequestFailed('protocol: bad chunk size')"],
        ["RequestFailed('protocol: bad Content-Length')"],
    )
