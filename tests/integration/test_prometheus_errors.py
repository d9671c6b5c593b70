"""Prometheus failing in any shape: each answer a one-line PrometheusError, never another
exception; a cluster cell whose target figures could not be read says unknown with the reason.

A real HTTP server on loopback plays the broken Prometheus (or the proxy in front of it).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from swarmbench.bench import runner
from swarmbench.bench.cluster_backend import RemoteUsage
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.results import CellResult
from swarmbench.telemetry.prometheus import PrometheusAPI, PrometheusError
from swarmbench.util import processes

#: path -> (status, content type, body) the fake answers every request with
ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "html-502": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"),
    "html-200": (200, "text/html", b"<!doctype html><title>Sign in</title>"),
    "empty-200": (200, "application/json", b""),
    "error-json": (400, "application/json", b'{"status":"error","error":"parse error"}'),
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


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        mode = self.server.mode  # type: ignore[attr-defined]
        status, ctype, body = ANSWERS[mode]
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


@pytest.mark.parametrize("mode", sorted(ANSWERS))
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


@pytest.mark.parametrize("mode", ["html-502", "silent", "bad-sample"])
def test_a_cluster_cells_unread_figures_are_unknown_not_zero(broken, mode: str) -> None:
    usage = RemoteUsage(broken(mode), "rust-std", start=time.time() - 5).stop()
    assert (usage.cpu_seconds, usage.rss_peak_bytes, usage.threads_peak) == (None, None, None)
    assert usage.alive is None  # not known: the cell is not failed as "target exited"
    assert usage.unknown_reason and "Prometheus could not be read" in usage.unknown_reason
    cell = CellResult("rust-std", "on", "wrk", "ok")
    run = GeneratorRun(1000, 0, {}, 5.0, 200.0, {"p99": 900.0}, 1.0, wall_s=5.0)
    runner._fill(
        cell, run, usage, LoadSpec("http://x/", keepalive=True, connections=8, duration_s=5)
    )
    assert cell.target_cpu_seconds is None and cell.cpu_us_per_request is None
    assert cell.target_cpu_percent is None and cell.rss_peak_bytes is None
    assert cell.target_figures_missing == usage.unknown_reason
    json.dumps(cell.as_dict())  # and it is written as null


def test_the_silent_prometheus_costs_its_timeout_not_more(broken) -> None:
    prom = broken("silent")
    started = time.monotonic()
    with pytest.raises(PrometheusError, match="did not answer"):
        prom.query("up")
    assert time.monotonic() - started < 5.0  # a hang guard: the timeout is 0.5 s
