"""`swarmbench verify` passes a correct server and names the check a broken one fails."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from swarmbench.targets.verify import verify

FakeServer = Callable[..., str]


def run_verify(url: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "swarmbench", "verify", url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def failed_checks(url: str) -> set[str]:
    return {c.name for c in verify(url) if not c.ok}


def test_correct_server_passes_every_check(fake_server: FakeServer) -> None:
    url = fake_server("ok")
    proc = run_verify(url)
    assert proc.returncode == 0, proc.stdout
    assert "all 10 checks passed" in proc.stdout


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("no-length", {"content-length", "keep-alive", "http/1.0 keep-alive", "pipelining"}),
        (
            "ignore-close",
            {"connection: close", "http/1.0 closes", "http/1.0 keep-alive", "pipelining"},
        ),
        ("status-500", {"status 200"}),
        (
            "mid-body",
            {"status 200", "keep-alive", "connection: close", "http/1.0 closes"}
            | {"http/1.0 keep-alive", "pipelining"},
        ),
    ],
)
def test_broken_server_fails_the_right_checks(
    fake_server: FakeServer, mode: str, expected: set[str]
) -> None:
    url = fake_server(mode)
    failed = failed_checks(url)
    assert failed == expected
    proc = run_verify(url)
    assert proc.returncode == 1
    for name in expected:
        assert f"FAIL  {name}" in proc.stdout


def test_garbage_and_silence_fail_without_traceback(fake_server: FakeServer) -> None:
    for mode in ("garbage", "silent"):
        proc = run_verify(fake_server(mode))
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr + proc.stdout
        assert "FAIL  status 200" in proc.stdout
