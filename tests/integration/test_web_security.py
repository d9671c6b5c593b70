"""Locust's web UI as swarmbench runs it: a login that authenticates, a form that sets only
per-run settings, same-origin requests only, and the master's target allowlist.

One real master (`--processes 1`: a forked worker with the same options) per module; every
request is real HTTP on loopback, the way a browser or `bench --inventory` sends it.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from swarmbench.cluster.master_api import RemoteMaster, run_locust
from swarmbench.cluster.web_access import WebAccess
from swarmbench.errors import UsageError
from swarmbench.generators.runner import by_name
from swarmbench.generators.spec import LoadSpec
from swarmbench.targets import process, registry
from swarmbench.util import paths, processes

START_TIMEOUT_S = 30.0
USER, PASSWORD = "swarmbench", "s3cret-Password-42"


@dataclass
class Master:
    port: int
    target: str
    workdir: Path
    log: Path

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One raw request, no cookie unless given: what any client can send."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def session_cookie(self) -> str:
        form = urllib.parse.urlencode({"username": USER, "password": PASSWORD})
        status, headers, _ = self.request("POST", "/login_submit", form)
        assert status == 302 and headers["Location"].rstrip("/").endswith(""), headers
        assert "/login" not in headers["Location"], headers
        return headers["Set-Cookie"].split(";", 1)[0]

    def swarm(self, fields: dict[str, str], cookie: str) -> dict[str, object]:
        form = urllib.parse.urlencode({"user_count": "1", "spawn_rate": "1", **fields})
        status, _, body = self.request("POST", "/swarm", form, {"Cookie": cookie})
        assert status == 200, body
        return dict(json.loads(body))

    def stop(self, cookie: str) -> None:
        self.request("POST", "/stop", "", {"Cookie": cookie})


@pytest.fixture(scope="module")
def master(
    tmp_path_factory: pytest.TempPathFactory, built: Callable[[str], registry.Target]
) -> Iterator[Master]:
    """The master, and rust-std on the one address its allowlist names."""
    workdir = tmp_path_factory.mktemp("websec")
    target_port, web, zmq = (processes.free_port() for _ in range(3))
    server = process.start(built("rust-std"), target_port, 1)
    (workdir / "login").write_text(f"{USER}:{PASSWORD}\n")
    (workdir / "allowlist").write_text(f"# the targets group\n127.0.0.1:{target_port}\n")
    cmd = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(paths.ROOT / "locustfiles/http.py"),
    ]
    cmd += ["--class-picker", "--web-host", "127.0.0.1", "--web-port", str(web)]
    cmd += ["--web-login", "--web-login-file", str(workdir / "login")]
    cmd += ["--target-allowlist", str(workdir / "allowlist")]
    cmd += ["--metrics-bind", "", "--processes", "1", "--loglevel", "INFO"]
    cmd += ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(zmq)]
    cmd += ["--master-host", "127.0.0.1", "--master-port", str(zmq)]
    log = workdir / "master.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, start_new_session=True)
    try:
        processes.wait_listening("127.0.0.1", web, proc, START_TIMEOUT_S)
        yield Master(web, f"http://127.0.0.1:{target_port}/", workdir, log)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.stop()


def test_without_a_login_nothing_is_served_or_started(master: Master) -> None:
    status, headers, _ = master.request("GET", "/stats/requests")
    assert status == 302 and "/login" in headers["Location"], (status, headers)
    form = urllib.parse.urlencode({"user_count": 1, "spawn_rate": 1, "host": master.target})
    status, headers, body = master.request("POST", "/swarm", form)
    assert status == 302 and "/login" in headers["Location"], body
    wrong = urllib.parse.urlencode({"username": USER, "password": "guess"})
    started = time.monotonic()
    status, headers, _ = master.request("POST", "/login_submit", wrong)
    assert status == 302 and headers["Location"].endswith("/login"), headers
    assert time.monotonic() - started >= 0.9, "a failed login answers at once"
    cookie = master.session_cookie()
    status, _, body = master.request("GET", "/stats/requests", headers={"Cookie": cookie})
    assert status == 200 and json.loads(body)["state"] in ("ready", "stopped"), body


def test_the_form_sets_no_path_no_address_and_no_foreign_host(master: Master) -> None:
    cookie = master.session_cookie()
    written = master.workdir / "stolen.json"
    refused = {
        "latency_json": str(written),
        "metrics_bind": "0.0.0.0:9999",
        "target_allowlist": "/dev/null",
        "csv_prefix": str(master.workdir / "csv"),
        "web_host": "0.0.0.0",
    }
    for field, value in refused.items():
        answer = master.swarm({"host": master.target, field: value}, cookie)
        assert answer["success"] is False, (field, answer)
        assert repr(field) in str(answer["message"]), answer
    for fields, expected in (
        ({"host": "http://198.18.0.99:8080/"}, "not in the target allowlist"),
        ({"host": master.target, "system": "<script>"}, "system"),
        ({"host": master.target, "rate": "-1"}, "rate"),
        ({"host": master.target, "run_lease": "-5"}, "run_lease"),
        ({"host": master.target, "run_lease": "nan"}, "run_lease"),
        ({"host": master.target, "user_count": "1e9"}, "user_count"),
        ({"host": master.target, "user_classes": "NoSuchUser"}, "user_classes"),
    ):
        answer = master.swarm(fields, cookie)
        assert answer["success"] is False and expected in str(answer["message"]), answer
    time.sleep(0.5)  # a run the master started would be spawning by now
    _, _, body = master.request("GET", "/stats/requests", headers={"Cookie": cookie})
    assert json.loads(body)["state"] in ("ready", "stopped"), body
    assert not written.exists()


def test_cross_origin_requests_are_refused_and_get_no_cors_headers(master: Master) -> None:
    cookie = master.session_cookie()
    form = urllib.parse.urlencode({"user_count": 1, "spawn_rate": 1, "host": master.target})
    own = f"http://127.0.0.1:{master.port}"
    for foreign in (
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": own, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        status, headers, body = master.request(
            "POST", "/swarm", form, {"Cookie": cookie, **foreign}
        )
        assert status == 403 and b"cross-origin" in body, (foreign, status, body)
    status, _, _ = master.request("POST", "/stop", "", {"Cookie": cookie, "Origin": "http://x.y"})
    assert status == 403
    # A read from another page's script: refused; a plain navigation to a page: served.
    fetch = {"Cookie": cookie, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}
    assert master.request("GET", "/stats/requests", headers=fetch)[0] == 403
    navigate = {**fetch, "Sec-Fetch-Mode": "navigate"}
    assert master.request("GET", "/stats/requests", headers=navigate)[0] == 200
    status, headers, _ = master.request(
        "GET", "/stats/requests", headers={"Cookie": cookie, "Origin": "http://evil.example"}
    )
    assert status == 200
    assert not [h for h in headers if h.lower().startswith("access-control-")], headers
    status, headers, _ = master.request(
        "OPTIONS", "/swarm", headers={"Origin": "http://evil.example",
                                      "Access-Control-Request-Method": "POST"},
    )  # fmt: skip
    assert not [h for h in headers if h.lower().startswith("access-control-")], headers


def test_a_host_name_that_is_not_the_uis_is_refused(master: Master) -> None:
    # DNS rebinding: an attacker's name that resolves to 127.0.0.1 reaches the same socket.
    status, _, body = master.request(
        "GET", "/login", headers={"Host": f"evil.example:{master.port}"}
    )
    assert status == 403 and b"not one of this UI's names" in body
    assert master.request("GET", "/login", headers={"Host": f"localhost:{master.port}"})[0] == 200


def test_the_bench_client_logs_in_and_runs_a_cell(master: Master, tmp_path: Path) -> None:
    access = WebAccess(USER, tmp_path / "password")
    (tmp_path / "password").write_text(PASSWORD + "\n")
    opener = access.opener()
    url = f"http://127.0.0.1:{master.port}"
    access.log_in(opener, url)
    remote = RemoteMaster(url, expected_workers=1, opener=opener)
    spec = LoadSpec(master.target, keepalive=True, connections=2, duration_s=2, system="rust-std")
    run = run_locust(remote, by_name("locust"), spec, tmp_path / "cell")
    assert run.requests > 0 and run.failures == 0, (run.requests, run.failures)

    (tmp_path / "password").write_text("wrong\n")
    with pytest.raises(UsageError, match="refused the login"):
        access.log_in(access.opener(), url)
