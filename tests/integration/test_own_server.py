"""A user's own servers beside the seven: `swarmbench bench --targets FILE`, end to end.

The user's file declares deploy/examples' ASGI app twice: once for swarmbench to run
(`run`, port and threads filled in per cell) and once already running at a `url`, started here,
which swarmbench only loads and watches. Both are verified by their own contract, benched beside
rust-std with Locust and ab, their CPU read by the collector into a real Prometheus, and
reported; a threshold they miss makes the bench exit 1 naming each miss.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarmbench.util import paths, processes

EXAMPLE = paths.ROOT / "deploy" / "examples"
APP_DIR = EXAMPLE / "targets" / "asgi-hello"
DEBIAN_PYTHON = "/usr/bin/python3"


def _uvicorn_missing() -> bool:
    probe = [DEBIAN_PYTHON, "-c", "import uvicorn"]
    return subprocess.run(probe, capture_output=True, check=False).returncode != 0


pytestmark = pytest.mark.skipif(
    _uvicorn_missing(), reason="needs Debian's python3-uvicorn (make system-deps installs it)"
)


@pytest.fixture
def running_app() -> Iterator[int]:
    """The example app already running (a `url` entry's server), on a free loopback port."""
    port = processes.free_port()
    cmd = [DEBIAN_PYTHON, "-m", "uvicorn", "--app-dir", str(APP_DIR), "app:app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        processes.wait_listening("127.0.0.1", port, proc, 15)
        yield port
    finally:
        processes.stop(proc, 5)


def _user_file(tmp_path: Path, port: int) -> Path:
    example = (EXAMPLE / "targets.toml").read_text()
    running = f"""
[systems.asgi-running]
language = "python"
version = "uvicorn, started by the user"
url = "http://127.0.0.1:{port}/"

[systems.asgi-running.contract]
body = '{{"status": "ok", "service": "asgi-hello"}}'
"""
    path = tmp_path / "mine.toml"
    # `source` relative to this file's folder: point it at the example's app.
    path.write_text(
        example.replace("[systems.asgi-hello]\n", f'[systems.asgi-hello]\nsource = "{APP_DIR}"\n')
        + running
    )
    return path


def test_own_servers_are_verified_benched_and_reported(tmp_path: Path, running_app: int) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "swarmbench",
        "bench",
        "--targets",
        str(_user_file(tmp_path, running_app)),
    ]
    cmd += ["--systems", "asgi-hello,asgi-running,rust-std", "--generators", "locust,ab"]
    cmd += ["--keepalive", "on", "--duration", "2s", "--warmup", "1s", "--users", "8"]
    cmd += ["--threshold", "failure_ratio<0.5", "--threshold", "asgi-hello:rps>1e9"]
    cmd += ["--rounds", "1", "--same-traffic", "50"]  # one round, one same-traffic step
    proc = subprocess.run(
        [*cmd, "--out", str(out)], capture_output=True, text=True, timeout=400, check=False
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    missed = [line.strip() for line in proc.stderr.splitlines() if "missed:" in line]
    assert len(missed) == 1, proc.stderr[-3000:]
    assert missed[0].startswith("missed: asgi-hello, keep-alive on, locust: rps ")
    assert "limit >1,000,000,000" in missed[0] and "missed by" in missed[0]
    verdicts = json.loads((out / "thresholds.json").read_text())
    assert [m["cell"] for m in verdicts["missed"]] == ["asgi-hello.keepalive-on.locust"]

    cells = {p.stem: json.loads(p.read_text()) for p in (out / "cells").glob("*.json")}
    for system in ("asgi-hello", "asgi-running"):
        locust = cells[f"{system}.keepalive-on.locust"]
        assert locust["verdict"] in ("ok", "generator-bound"), locust["verdict"]
        assert locust["requests"] > 0 and locust["failures"] == 0
        assert locust["target_cpu_seconds"] > 0 and locust["cpu_us_per_request"] > 0
        assert locust["prometheus"]["available"], locust["prometheus"]
        assert locust["prometheus"]["target_cpu_seconds"] > 0
        checks = {c["name"]: c for c in locust["verification"]}
        assert checks["body"]["ok"] and "body Hello" not in checks
        assert (
            not checks["http/1.0 keep-alive"]["ok"]
            and not checks["http/1.0 keep-alive"]["required"]
        )
        ab = cells[f"{system}.keepalive-on.ab"]
        assert ab["verdict"].startswith("skipped: ab's keep-alive is HTTP/1.0 keep-alive"), ab
    for generator in ("locust", "ab"):
        assert cells[f"rust-std.keepalive-on.{generator}"]["verdict"] in ("ok", "generator-bound")

    run = json.loads((out / "run.json").read_text())
    assert run["systems"]["asgi-hello"]["language"] == "python"
    assert run["systems"]["asgi-running"]["url"] == f"http://127.0.0.1:{running_app}/"
    report = (out / "report.md").read_text()
    assert "asgi-hello" in report and "asgi-running" in report and "rust-std" in report
