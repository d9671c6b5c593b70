"""The wrk/ab runner the cluster bench starts on a worker host over SSH (cluster.loadgen), run
here as it runs there: its --watch-stdin (ssh holds stdin open for the run) and --allowlist."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from swarmbench.cluster import loadgen
from swarmbench.generators.spec import LoadSpec

#: A bound on a hang, not a timed assertion: the run itself lasts one second.
EXIT_BOUND_S = 60


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "5")
        self.end_headers()
        self.wfile.write(b"Hello")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _loadgen(url: str, *flags: str) -> subprocess.Popen[str]:
    spec = LoadSpec(url, keepalive=True, connections=1, duration_s=1)
    cmd = [sys.executable, "-m", "swarmbench.cluster.loadgen", loadgen.spec_json(spec), "wrk"]
    return subprocess.Popen(
        [*cmd, *flags], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_a_run_watching_stdin_ends_when_done_while_stdin_stays_open(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    # The allowlist check must not load Locust here: gevent's patched threads kept the process
    # from exiting until ssh closed stdin, so every remote wrk cell ran into its timeout.
    port = server.server_address[1]
    allowlist = tmp_path / "target-allowlist"
    allowlist.write_text(f"127.0.0.1:{port}\n")
    proc = _loadgen(f"http://127.0.0.1:{port}/", "--watch-stdin", f"--allowlist={allowlist}")
    try:
        code = proc.wait(EXIT_BOUND_S)  # stdin still open, as the controller's ssh holds it
        assert proc.stdout is not None and proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.communicate()
    assert code == 0, err
    assert json.loads(out.splitlines()[-1])["requests"] > 0, out


def test_a_url_outside_the_allowlist_is_refused_before_wrk_starts(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    allowlist = tmp_path / "target-allowlist"
    allowlist.write_text("198.18.0.14:8080\n")
    proc = _loadgen(f"http://127.0.0.1:{server.server_address[1]}/", f"--allowlist={allowlist}")
    out, err = proc.communicate(timeout=EXIT_BOUND_S)
    assert proc.returncode == 1 and out == "", (out, err)
    assert err.strip() == (
        f"loadgen: refusing to load: http://127.0.0.1:{server.server_address[1]}/ is not in the "
        f"target allowlist {allowlist}, which allows 198.18.0.14:8080"
    )
