"""`swarmbench verify` passes a correct server and names the check a broken one fails."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from swarmbench.targets import registry
from swarmbench.targets.verify import verify

FakeServer = Callable[..., str]


def run_verify(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "swarmbench", "verify", url, *args]
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


def _own_contract(tmp_path: Path, contract: str) -> Path:
    """A user's registry file with one `url` entry and the given [contract] lines."""
    path = tmp_path / "mine.toml"
    path.write_text(
        '[systems.mine]\nlanguage = "python"\nversion = "test"\nurl = "http://127.0.0.1:1/"\n'
        f"[systems.mine.contract]\n{contract}\n"
    )
    return path


def test_own_contract_checks_status_and_framing_not_the_hello_body(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """A 500 server meets a contract that expects 500; its body is checked only when given."""
    url = fake_server("status-500")
    mine = _own_contract(tmp_path, "status = 500")
    contract = registry.get("mine", mine).contract
    checks = {c.name: c for c in verify(url, contract)}
    assert "body Hello" not in checks and "content-type text/plain" not in checks
    assert all(c.ok for c in checks.values()), checks
    proc = run_verify(url, "--system", "mine", "--targets", str(mine))
    assert proc.returncode == 0, proc.stdout
    assert "all 8 checks passed" in proc.stdout

    wrong_body = _own_contract(tmp_path, 'status = 500\nbody = "Goodbye"')
    proc = run_verify(url, "--system", "mine", "--targets", str(wrong_body))
    assert proc.returncode == 1 and "FAIL  body" in proc.stdout, proc.stdout


def test_own_contract_reports_optional_checks_without_failing(
    fake_server: FakeServer, tmp_path: Path
) -> None:
    """no-length answers HTTP/1.1 without framing (a failure in any contract); ignore-close
    never closes: required checks fail, the optional ones are notes unless `require` names them."""
    url = fake_server("ignore-close")
    mine = _own_contract(tmp_path, "")
    checks = {c.name: c for c in verify(url, registry.get("mine", mine).contract)}
    assert checks["connection: close"].failed
    assert not checks["http/1.0 closes"].ok and not checks["http/1.0 closes"].required
    proc = run_verify(url, "--system", "mine", "--targets", str(mine))
    assert proc.returncode == 1
    assert "FAIL  connection: close" in proc.stdout and "note  http/1.0 closes" in proc.stdout

    strict = _own_contract(tmp_path, 'require = ["http/1.0 closes"]')
    checks = {c.name: c for c in verify(url, registry.get("mine", strict).contract)}
    assert checks["http/1.0 closes"].failed and not checks["pipelining"].required


@pytest.mark.parametrize("mode", ["markup", "negative-chunk", "unicode-length"])
def test_hostile_answers_fail_as_text_without_traceback(fake_server: FakeServer, mode: str) -> None:
    proc = run_verify(fake_server(mode))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    out = proc.stdout
    assert "\x1b" not in out and "\x07" not in out  # the server's escapes are shown, not sent
    if mode == "markup":
        assert "HTTP/1.1 200 [/][red]x\\x1b[2J\\x07" in out  # markup printed as text
        assert "x-[b]" in out  # an extra header, its name shown as sent
    else:
        assert "FAIL  status 200" in out
        assert "bad chunk size" in out or "bad Content-Length" in out


def test_a_trickling_server_fails_each_check_by_its_deadline(fake_server: FakeServer) -> None:
    checks = verify(fake_server("trickle"), check_deadline_s=0.5)
    failed = [c for c in checks if not c.ok]
    assert {c.name for c in failed} >= {"status 200", "keep-alive", "pipelining"}
    assert all("within the check's 0.5 s" in c.detail for c in failed), failed
