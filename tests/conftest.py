"""Fixtures shared by every test folder: real servers on free loopback ports."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from swarmbench import build, registry, targetproc

TESTS = Path(__file__).resolve().parent
FAKE_SERVER = TESTS / "fakes" / "server.py"
START_TIMEOUT_S = 10.0

FakeServer = Callable[..., str]


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """Start tests/fakes/server.py in a mode; returns its URL. Stopped after the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(mode: str = "ok", delay_ms: float = 0.0) -> str:
        port = targetproc.free_port()
        cmd = [sys.executable, str(FAKE_SERVER), "--port", str(port), "--mode", mode]
        cmd += ["--delay-ms", str(delay_ms)]
        proc = subprocess.Popen(cmd)
        procs.append(proc)
        targetproc.wait_listening("127.0.0.1", port, proc, START_TIMEOUT_S)
        return f"http://127.0.0.1:{port}/"

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def built() -> Callable[[str], registry.Target]:
    """Build a registry target once per session (a no-op when `make targets` already did)."""
    done: dict[str, registry.Target] = {}

    def get(name: str) -> registry.Target:
        if name not in done:
            target = registry.get(name)
            build.build(target)
            done[name] = target
        return done[name]

    return get


@pytest.fixture
def target_server(
    built: Callable[[str], registry.Target],
) -> Iterator[Callable[..., targetproc.RunningTarget]]:
    """Start a built registry target on a free port; stopped after the test."""
    running: list[targetproc.RunningTarget] = []

    def start(name: str, threads: int = 1, cpus: tuple[int, ...] = ()) -> targetproc.RunningTarget:
        target = built(name)
        server = targetproc.start(target, targetproc.free_port(), threads, cpus=cpus)
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()
