"""Whatever a command starts is stopped however the command ends: each ending signal, SIGKILL,
a timeout. Each test runs the real command with an owner token in its environment, ends it,
and then finds nothing carrying the token (processes.owned_processes: the reaper included,
once done) and no port it listened on still open.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from fakes.owned import kill_owned, listening_ports, owned_env, owned_processes, port_listens

from swarmbench.util import processes

#: How long the stopped command's children (and its reaper) may take to be gone.
GONE_WITHIN_S = 20.0
READY_TIMEOUT_S = 150.0


def swarmbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "swarmbench", *args]


def _wait_for(what: str, ready: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the command ended before {what}: {err[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {READY_TIMEOUT_S:g} s")
        time.sleep(0.2)


def _cmdlines(token: str) -> list[str]:
    found = []
    for proc in owned_processes(token):
        try:
            found.append(" ".join(proc.cmdline()))
        except psutil.Error:
            continue
    return found


def _forked_locust_loading(token: str) -> bool:
    """The measuring Locust runs with its forked workers (master + 2 with one command line)."""
    locusts = [c for c in _cmdlines(token) if "locust" in c and "--processes" in c]
    return len(locusts) >= 3 and not any("/warmup/" in c for c in locusts)


def _end_and_check(proc: subprocess.Popen[str], token: str, sig: signal.Signals) -> tuple[int, str]:
    """Signal the command; then nothing of it may be left: processes, listening ports."""
    _wait_for("a listening port", lambda: bool(listening_ports(owned_processes(token))), proc)
    ports = listening_ports(owned_processes(token))
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    deadline = time.monotonic() + GONE_WITHIN_S
    while owned_processes(token) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not owned_processes(token), _cmdlines(token)
    assert not [p for p in ports if port_listens(p)], ports
    return proc.returncode, stderr


@pytest.mark.parametrize(
    ("sig", "code"),
    [
        (signal.SIGINT, 130),
        (signal.SIGTERM, 128 + signal.SIGTERM),
        (signal.SIGHUP, 128 + signal.SIGHUP),
        (signal.SIGKILL, -signal.SIGKILL),
    ],
    ids=lambda v: v.name if isinstance(v, signal.Signals) else str(v),
)
def test_bench_during_a_locust_cell_with_processes_leaves_nothing(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    out = tmp_path / "run"
    token = f"lifecycle-{sig.name}-{out}"
    cmd = swarmbench("bench", "--systems", "rust-std", "--keepalive", "on", "--generators",
                     "locust", "--workers", "2", "--users", "4", "--duration", "60s",
                     "--warmup", "1s", "--out", str(out))  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=owned_env(token)
    )
    try:
        _wait_for("measuring Locust with two workers", lambda: _forked_locust_loading(token), proc)
        returncode, stderr = _end_and_check(proc, token, sig)
    finally:
        processes.stop(proc)
        kill_owned(token)
    assert returncode == code, stderr[-2000:]
    if sig != signal.SIGKILL:
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1].startswith("swarmbench: interrupted"), stderr
    assert not list((out / "cells").glob("*.json"))  # the interrupted cell is dropped


def _soak_ready(cmds: list[str]) -> bool:
    return sum("locust" in c and "--processes" in c for c in cmds) >= 3


def _generator_bench_ready(cmds: list[str]) -> bool:
    return any("locust" in c for c in cmds) and any("--port" in c for c in cmds)


def _master_bench_ready(cmds: list[str]) -> bool:
    return any("workersim" in c for c in cmds) and any("--master" in c for c in cmds)


#: (name, its arguments, when its children run)
CAPACITY = [
    ("soak", ["soak", "--system", "rust-std", "--duration", "2m", "--rate", "200"], _soak_ready),
    (
        "generator-bench",
        [
            "generator-bench",
            "--generators",
            "swarmbench",
            "--modes",
            "keepalive",
            "--duration",
            "60s",
        ],
        _generator_bench_ready,
    ),
    (
        "master-bench",
        ["master-bench", "--workers", "100", "--duration", "60s"],
        _master_bench_ready,
    ),
]


@pytest.mark.parametrize(("name", "args", "ready"), CAPACITY, ids=[c[0] for c in CAPACITY])
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGKILL], ids=lambda s: s.name)
def test_capacity_commands_killed_leave_nothing(
    name: str, args: list[str], ready: Callable[[list[str]], bool], sig: signal.Signals
) -> None:
    token = f"lifecycle-{name}-{sig.name}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        swarmbench(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=owned_env(token),
    )  # fmt: skip
    try:
        _wait_for(f"{name}'s children", lambda: ready(_cmdlines(token)), proc)
        _end_and_check(proc, token, sig)
    finally:
        processes.stop(proc)
        kill_owned(token)


SPAWNER = textwrap.dedent(
    """
    import sys, time
    from swarmbench.util import processes
    # A child that forks a grandchild, both in the child's new process group.
    processes.spawn(["sh", "-c", "sleep 300 & sleep 300"])
    print("started", flush=True)
    time.sleep(300)
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
def test_the_reaper_stops_a_killed_parents_group(sig: signal.Signals) -> None:
    """The mechanism alone: a parent SIGKILLed (no handler runs) or SIGTERMed without the CLI's
    handlers (it dies at once) leaves its spawned group to the reaper, grandchild included."""
    token = f"reaper-{sig.name}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-c", SPAWNER], stdout=subprocess.PIPE, text=True, env=owned_env(token)
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
        assert sum("sleep 300" in c for c in _cmdlines(token)) >= 2
        proc.send_signal(sig)
        proc.wait(30)
        deadline = time.monotonic() + GONE_WITHIN_S
        while owned_processes(token) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not owned_processes(token), _cmdlines(token)
    finally:
        processes.stop(proc)
        kill_owned(token)


def test_a_timeout_stops_the_whole_group(tmp_path: Path) -> None:
    token = f"timeout-{time.monotonic_ns()}"
    with pytest.raises(subprocess.TimeoutExpired):
        processes.run(["sh", "-c", "sleep 300 & sleep 300"], timeout=1.0, env=owned_env(token))
    assert not owned_processes(token), _cmdlines(token)
