"""Bad input: one line naming the problem, exit 2, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from swarmbench import targetproc


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def swarmbench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "swarmbench", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, check=False)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["targets", "build", "nginx"], ["unknown system 'nginx'", "tokio", "node-std"]),
        (["targets", "run", "nginx", "--port", "1"], ["unknown system 'nginx'", "known:"]),
        (["targets", "run", "tokio", "--port", "70000"], ["above 65535"]),
        (["targets", "run", "tokio", "--port", "1", "--threads", "0"], ["greater than 0"]),
        (["verify", "https://127.0.0.1/"], ["https is not supported"]),
        (["verify", "not-a-url"], ["not an http URL"]),
        (["nonsense"], ["invalid choice"]),
    ],
)
def test_bad_input(args: list[str], needles: list[str]) -> None:
    assert_one_line_error(swarmbench(*args), *needles)


def test_port_in_use_names_the_port(busy_port: int) -> None:
    proc = swarmbench("targets", "run", "node-std", "--port", str(busy_port))
    assert_one_line_error(proc, f"port {busy_port}", "already in use")


def test_missing_toolchain_names_it_and_how_to_install() -> None:
    env = dict(os.environ, PATH="/nonexistent")
    proc = swarmbench("targets", "build", "--force", "gin", env=env)
    assert_one_line_error(proc, "gin needs 'go'", "install Go")


def test_free_port_is_free() -> None:
    targetproc.check_port_free("127.0.0.1", targetproc.free_port())
