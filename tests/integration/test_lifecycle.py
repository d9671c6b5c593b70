"""Whatever a command starts is stopped however the command ends: Ctrl-C, SIGTERM, SIGHUP,
SIGKILL (bench, soak, generator-bench, master-bench), a timeout. Each test runs the real command
with an owner token in its environment, ends it, and then finds nothing carrying the token
(processes.owned_processes: the reaper included, once done) and no port it listened on still
open; a command ended by a signal it handles exits 128+signal with one line, no traceback.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from fakes.owned import (
    OWNER_VAR,
    kill_owned,
    listening_ports,
    owned_after,
    owned_env,
    owned_processes,
    port_listens,
)

from swarmbench.generators import runner
from swarmbench.generators.spec import LoadSpec
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


def _end_and_check(
    proc: subprocess.Popen[str], token: str, sig: signal.Signals, exit_within_s: float = 60.0
) -> tuple[int, str]:
    """Signal the command; then nothing of it may be left: processes, listening ports."""
    _wait_for("a listening port", lambda: bool(listening_ports(owned_processes(token))), proc)
    ports = listening_ports(owned_processes(token))
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=exit_within_s)
    assert not owned_after(token, GONE_WITHIN_S), _cmdlines(token)
    assert not [p for p in ports if port_listens(p)], ports
    return proc.returncode, stderr


#: each way a command is ended, with the exit status it ends with (SIGKILL: none of its own)
ENDINGS = [
    (signal.SIGINT, 130),
    (signal.SIGTERM, 128 + signal.SIGTERM),
    (signal.SIGHUP, 128 + signal.SIGHUP),
    (signal.SIGKILL, -signal.SIGKILL),
]


def _ending_id(value: object) -> str:
    return value.name if isinstance(value, signal.Signals) else str(value)


def _check_ending(sig: signal.Signals, code: int, returncode: int, stderr: str) -> None:
    """The command's own exit: 128+signal, no traceback, one line saying it was interrupted."""
    assert returncode == code, stderr[-2000:]
    if sig != signal.SIGKILL:
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1].startswith("swarmbench: interrupted"), stderr


@pytest.mark.parametrize(("sig", "code"), ENDINGS, ids=_ending_id)
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
    _check_ending(sig, code, returncode, stderr)
    assert not list((out / "cells").glob("*.json"))  # the interrupted cell is dropped


def _web_locust_loading(token: str) -> bool:
    """The default local run's one Locust in web mode is up beside the target (its binary,
    not the bench's own --systems argument)."""
    cmds = _cmdlines(token)
    web = any("locust" in c and "--web-port" in c for c in cmds)
    return web and any("sb-rust-std" in c for c in cmds)


def test_bench_interrupted_during_its_web_mode_locust_leaves_nothing(tmp_path: Path) -> None:
    """The default run (--workers 1) drives every Locust round through one Locust in web mode,
    started for the whole bench: Ctrl-C in a round stops it, the target and the reaper."""
    out = tmp_path / "run"
    token = f"lifecycle-web-locust-{out}"
    cmd = swarmbench("bench", "--systems", "rust-std", "--keepalive", "on", "--generators",
                     "locust", "--users", "4", "--duration", "60s", "--warmup", "1s",
                     "--rounds", "1", "--out", str(out))  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=owned_env(token)
    )
    try:
        _wait_for("the web-mode Locust", lambda: _web_locust_loading(token), proc)
        time.sleep(3)  # past the 1 s warm-up, into the 60 s round
        # Stopping Locust, Prometheus, the collector and the target took over 60 s once, at a
        # load average of 19 on the 2 cores: what matters is that nothing is left.
        returncode, stderr = _end_and_check(proc, token, signal.SIGINT, exit_within_s=180.0)
    finally:
        processes.stop(proc)
        kill_owned(token)
    assert returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert not list((out / "cells").glob("*.json"))


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
@pytest.mark.parametrize(("sig", "code"), ENDINGS, ids=_ending_id)
def test_capacity_commands_killed_leave_nothing(
    name: str,
    args: list[str],
    ready: Callable[[list[str]], bool],
    sig: signal.Signals,
    code: int,
) -> None:
    token = f"lifecycle-{name}-{sig.name}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        swarmbench(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=owned_env(token),
    )  # fmt: skip
    try:
        _wait_for(f"{name}'s children", lambda: ready(_cmdlines(token)), proc)
        returncode, stderr = _end_and_check(proc, token, sig)
    finally:
        processes.stop(proc)
        kill_owned(token)
    _check_ending(sig, code, returncode, stderr)


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
        assert not owned_after(token, GONE_WITHIN_S), _cmdlines(token)
    finally:
        processes.stop(proc)
        kill_owned(token)


def test_a_timeout_stops_the_whole_group(tmp_path: Path) -> None:
    token = f"timeout-{time.monotonic_ns()}"
    with pytest.raises(subprocess.TimeoutExpired):
        processes.run(["sh", "-c", "sleep 300 & sleep 300"], timeout=1.0, env=owned_env(token))
    assert not owned_processes(token), _cmdlines(token)


def test_a_locust_run_past_its_time_is_stopped_with_its_forked_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generator's own timeout (a hung Locust): the whole group goes, the workers
    `locust --processes 2` forked included, not only the parent that forked them."""
    token = f"generator-timeout-{time.monotonic_ns()}"
    monkeypatch.setenv(OWNER_VAR, token)  # what run_local spawns inherits it
    planned = runner._planned_s

    def planned_once_forked(spec: LoadSpec) -> float:
        # Read just after the spawn: wait for the forked workers, then let the timeout fire.
        deadline = time.monotonic() + READY_TIMEOUT_S
        while sum("--processes" in c for c in _cmdlines(token)) < 3:
            assert time.monotonic() < deadline, "Locust never forked its two workers"
            time.sleep(0.2)
        assert planned(spec) == 600.0
        return 0.0

    monkeypatch.setattr(runner, "_planned_s", planned_once_forked)
    monkeypatch.setattr(runner, "GRACE_S", 0.5)
    with socket.socket() as silent:  # accepts connections, never answers: no load to speak of
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        spec = LoadSpec(url, keepalive=True, connections=2, duration_s=600.0, workers=2)
        try:
            with pytest.raises(RuntimeError, match="locust did not finish in time"):
                runner.run_local(runner.by_name("locust"), spec, tmp_path / "work")
            assert not owned_after(token, GONE_WITHIN_S), _cmdlines(token)
        finally:
            kill_owned(token)
