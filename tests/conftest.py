"""Fixtures shared by every test folder: real servers on free loopback ports."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.owned import kill_owned, owned_env

from swarmbench.targets import build, process, registry
from swarmbench.util import processes

TESTS = Path(__file__).resolve().parent

#: Skips `make test` accepts (--no-unexpected-skips), each with why it is not a broken set-up.
#: `make test` runs as root on Debian after `make system-deps`: no root, no network namespaces,
#: no sshd, no cgroup2, no tmpfs, no chromium or no uvicorn there means the machine is not set
#: up, so such a skip fails the run instead of passing it quietly. Empty today.
ALLOWED_SKIPS: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    # A shell without job control starts background commands with SIGINT ignored, and children
    # inherit that: the Ctrl-C tests' commands (Python keeps an inherited ignore) would then
    # never see their SIGINT. The tests need Ctrl-C to mean what it means at a terminal.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-unexpected-skips",
        action="store_true",
        help="fail the run if a test skips for a reason not in tests/conftest.py ALLOWED_SKIPS",
    )


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


_unexpected_skips: list[str] = []


def _note_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if hasattr(report, "wasxfail"):  # an expected failure (xfail) is reported as skipped: not one
        return
    if report.skipped and not any(allowed in _skip_reason(report) for allowed in ALLOWED_SKIPS):
        _unexpected_skips.append(f"{report.nodeid}: {_skip_reason(report)}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _note_skip(report)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _note_skip(report)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.getoption("--no-unexpected-skips") and _unexpected_skips:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if config.getoption("--no-unexpected-skips") and _unexpected_skips:
        terminalreporter.section("skips this machine should not have (the set-up is broken)")
        for line in _unexpected_skips:
            terminalreporter.line(line)


FAKE_SERVER = TESTS / "fakes" / "server.py"
START_TIMEOUT_S = 10.0
FIRST_CELL_TIMEOUT_S = 120.0

FakeServer = Callable[..., str]


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """Start tests/fakes/server.py in a mode; returns its URL. Stopped after the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(mode: str = "ok", delay_ms: float = 0.0) -> str:
        port = processes.free_port()
        cmd = [sys.executable, str(FAKE_SERVER), "--port", str(port), "--mode", mode]
        cmd += ["--delay-ms", str(delay_ms)]
        proc = subprocess.Popen(cmd)
        procs.append(proc)
        processes.wait_listening("127.0.0.1", port, proc, START_TIMEOUT_S)
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
) -> Iterator[Callable[..., process.RunningTarget]]:
    """Start a built registry target on a free port; stopped after the test."""
    running: list[process.RunningTarget] = []

    def start(name: str, threads: int = 1, cpus: tuple[int, ...] = ()) -> process.RunningTarget:
        target = built(name)
        server = process.start(target, processes.free_port(), threads, cpus=cpus)
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()


#: A bench started in the background, returned once its first cell is written.
BackgroundBench = Callable[[str, Path], "subprocess.Popen[str]"]


@pytest.fixture
def bench_first_cell() -> Iterator[BackgroundBench]:
    """Start `swarmbench bench` for one system with wrk (3 s cells), wait for its first cell.
    What it starts carries str(out) as its owner token (owned_processes)."""
    procs: list[subprocess.Popen[str]] = []
    outs: list[Path] = []

    def start(system: str, out: Path) -> subprocess.Popen[str]:
        outs.append(out)
        cmd = [sys.executable, "-m", "swarmbench", "bench", "--systems", system]
        cmd += ["--generators", "wrk", "--duration", "3s", "--warmup", "1s", "--out", str(out)]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=owned_env(str(out))
        )
        procs.append(proc)
        deadline = time.monotonic() + FIRST_CELL_TIMEOUT_S
        while not list((out / "cells").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list((out / "cells").glob("*.json")), "no cell finished in time"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for out in outs:
        kill_owned(str(out))
