"""Prometheus failing in any shape: each answer a one-line PrometheusError, never another
exception; a cluster cell whose target figures could not be read says unknown with the reason.

A real HTTP server on loopback plays the broken Prometheus (or the proxy in front of it).
"""

from __future__ import annotations

import csv
import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fakes import rundir as fake

from swarmbench.bench import rounds
from swarmbench.bench.cluster_backend import RemoteUsage
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.report.markdown import TABLE_HEADER
from swarmbench.results import UNKNOWN, CellResult, RunDir
from swarmbench.telemetry.prometheus import PrometheusAPI, PrometheusError
from swarmbench.util import processes

#: path -> (status, content type, body) the fake answers every request with
ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "html-502": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"),
    "html-200": (200, "text/html", b"<!doctype html><title>Sign in</title>"),
    "empty-200": (200, "application/json", b""),
    "error-json": (400, "application/json", b'{"status":"error","error":"parse error"}'),
    "error-json-503": (
        503,
        "application/json",
        b'{"status":"error","errorType":"unavailable","error":"too many queries"}',
    ),
    "error-json-200": (200, "application/json", b'{"status":"error","error":"bad_data"}'),
    "html-500-empty": (500, "text/html", b""),
    "deep-json": (200, "application/json", b"[" * 50_000 + b"]" * 50_000),
    "not-object": (200, "application/json", b"[1, 2]"),
    "no-data": (200, "application/json", b'{"status":"success"}'),
    "bad-result": (200, "application/json", b'{"status":"success","data":{"result":"x"}}'),
    "bad-sample": (
        200,
        "application/json",
        b'{"status":"success","data":{"result":[{"metric":{},"value":["t"]}]}}',
    ),
    "silent": (0, "", b""),  # accepts, never answers: the client's timeout
}
#: answers that are not errors but hold no series: the figures are unknown all the same
EMPTY: dict[str, tuple[int, str, bytes]] = {
    "empty-result": (
        200,
        "application/json",
        b'{"status":"success","data":{"resultType":"vector","result":[]}}',
    ),
}
#: path -> bytes written as the whole answer, then the connection closed: answers that are not
#: HTTP, or HTTP broken on the wire
RAW: dict[str, bytes] = {
    "not-http": b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
    "closed": b"",  # accepted, closed without a byte
    "cut-short": b'HTTP/1.1 200 OK\r\nContent-Length: 400\r\n\r\n{"status":"succ',
    "broken-chunks": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "header-flood": b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 150 + b"\r\n{}",
    "bad-status": b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        mode = self.server.mode  # type: ignore[attr-defined]
        if mode in RAW:
            self.wfile.write(RAW[mode])
            self.close_connection = True
            return
        status, ctype, body = {**ANSWERS, **EMPTY}[mode]
        if not status:
            time.sleep(3)
            return
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def broken() -> Iterator[Callable[[str], PrometheusAPI]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(mode: str) -> PrometheusAPI:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.mode = mode  # type: ignore[attr-defined]
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return PrometheusAPI(f"http://127.0.0.1:{server.server_port}", timeout_s=0.5)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("mode", sorted([*ANSWERS, *RAW]))
def test_every_broken_answer_is_one_line_prometheus_error(broken, mode: str) -> None:
    from swarmbench.telemetry import queries

    prom = broken(mode)
    calls = [
        lambda: queries.values(prom.query("up")),
        lambda: prom.query_range("up", 1, 2, 1),
        prom.targets_health,
    ]
    # A sample of the wrong shape is found where samples are read (values(); the panels').
    for call in calls[:1] if mode == "bad-sample" else calls:
        with pytest.raises(PrometheusError) as info:
            call()
        assert "\n" not in str(info.value)


def test_nothing_listening_is_a_prometheus_error() -> None:
    prom = PrometheusAPI(f"http://127.0.0.1:{processes.free_port()}", timeout_s=0.5)
    with pytest.raises(PrometheusError, match="did not answer"):
        prom.query("up")


def _cluster_cell(prom: PrometheusAPI) -> CellResult:
    """A wrk cell filled as the cluster backend fills it, the target's figures from `prom`."""
    usage = RemoteUsage(prom, "rust-std", start=time.time() - 5).stop()
    assert usage.alive is None  # not known: the cell is not failed as "target exited"
    cell = CellResult("rust-std", "on", "wrk", "ok")
    run = GeneratorRun(1000, 0, {}, 5.0, 200.0, {"p99": 900.0}, 1.0, wall_s=5.0)
    spec = LoadSpec("http://x/", keepalive=True, connections=8, duration_s=5)
    start = time.time() - 5
    figures = rounds.round_figures(0, [start, start + 5], run=run, usage=usage, spec=spec,
                                   target_cores=None)  # fmt: skip
    cell.rounds.append(figures.as_dict())
    rounds.aggregate(cell)  # as the bench does with a cell's rounds
    return cell


@pytest.mark.parametrize("mode", ["html-502", "silent", "bad-sample", "not-http", "error-json-503"])
def test_a_cluster_cells_unread_figures_are_unknown_not_zero(broken, mode: str) -> None:
    cell = _cluster_cell(broken(mode))
    assert cell.target_cpu_seconds is None and cell.cpu_us_per_request is None
    assert cell.target_cpu_percent is None and cell.rss_peak_bytes is None
    assert cell.threads_peak is None
    assert cell.target_figures_missing is not None
    assert "the monitor's Prometheus could not be read" in cell.target_figures_missing
    assert "\n" not in cell.target_figures_missing
    json.dumps(cell.as_dict())  # and it is written as null


def test_no_series_in_the_window_is_unknown_with_what_is_missing(broken) -> None:
    cell = _cluster_cell(broken("empty-result"))
    assert (cell.target_cpu_seconds, cell.rss_peak_bytes, cell.threads_peak) == (None, None, None)
    assert cell.target_figures_missing == (
        "no CPU, RSS, threads series from rust-std's collector in the window"
    )


def test_unknown_figures_reach_summary_csv_and_the_report(broken, tmp_path: Path) -> None:
    """A run whose rust-std wrk cell could not read Prometheus: the cell file, summary.csv,
    report.md and report.html say unknown with the reason; no 0 stands in for it."""
    rundir = fake.build(tmp_path, systems=("tokio", "rust-std"), generators=("wrk",))
    cell = _cluster_cell(broken("html-502"))
    reason = cell.target_figures_missing
    assert reason and "502" in reason
    rundir.write_cell(cell)
    rundir.write_summary(rundir.cells())  # what bench writes at its end
    done = subprocess.run(
        [sys.executable, "-m", "swarmbench", "report", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    stored = RunDir(tmp_path).finished(cell.key)
    assert stored is not None and stored.target_figures_missing == reason
    assert stored.target_cpu_percent is None and stored.rss_peak_bytes is None

    rows = {
        (r["system"], r["keepalive"]): r for r in csv.DictReader((tmp_path / "summary.csv").open())
    }
    row = rows[("rust-std", "on")]
    assert [row[k] for k in ("target_cpu_percent", "cpu_us_per_request", "rss_peak_bytes")] == [
        UNKNOWN
    ] * 3
    assert row["target_figures_missing"] == reason
    assert rows[("tokio", "on")]["target_figures_missing"] == ""
    assert float(rows[("tokio", "on")]["target_cpu_percent"]) > 0

    md = (tmp_path / "report.md").read_text()
    section = md.split("### wrk, keep-alive on\n", 1)[1].split("\n### ", 1)[0]
    line = next(x for x in section.splitlines() if x.startswith("| ") and "| rust-std |" in x)
    shown = dict(zip(TABLE_HEADER, (c.strip() for c in line.strip("|").split("|")), strict=True))
    assert [shown[k] for k in ("target CPU %", "CPU µs/req", "peak RSS")] == [UNKNOWN] * 3
    assert f"rust-std: target figures unknown: {reason}" in section
    html = (tmp_path / "report.html").read_text()
    assert "target figures unknown: the monitor&#x27;s Prometheus could not be read" in html


def test_the_silent_prometheus_costs_its_timeout_not_more(broken) -> None:
    prom = broken("silent")
    started = time.monotonic()
    with pytest.raises(PrometheusError, match="did not answer"):
        prom.query("up")
    assert time.monotonic() - started < 5.0  # a hang guard: the timeout is 0.5 s
