"""`swarmbench collector` as a real process: nothing behind the port, then a server, a restart."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from swarmbench.util import processes

FAKE_SERVER = Path(__file__).resolve().parent.parent / "fakes" / "server.py"
WAIT_S = 10.0


def scrape(port: int) -> dict[str, float]:
    """name{labels} -> value, with labels flattened to sorted 'k=v' for easy lookup."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[sample.name] = sample.value
            assert sample.labels.get("system") == "fake" and sample.labels.get("host") == "h1"
    return out


def wait_for(port: int, name: str, value: float) -> dict[str, float]:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            metrics = scrape(port)
            if metrics.get(name) == value:
                return metrics
        except OSError:
            metrics = {}
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} != {value} after {WAIT_S} s: {metrics}")
        time.sleep(0.1)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def start_server(port: int, procs: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, str(FAKE_SERVER), "--port", str(port), "--mode", "ok"]
    proc = subprocess.Popen(cmd)
    procs.append(proc)
    processes.wait_listening("127.0.0.1", port, proc, WAIT_S)
    return proc


def test_collector_waits_for_the_server_and_follows_a_restart(
    procs: list[subprocess.Popen[bytes]],
) -> None:
    server_port, metrics_port = processes.free_port(), processes.free_port()
    cmd = [sys.executable, "-m", "swarmbench", "collector", "--system", "fake", "--host-label"]
    cmd += ["h1", "--listen-port", str(server_port), "--bind", f"127.0.0.1:{metrics_port}"]
    collector = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    procs.append(collector)
    down = wait_for(metrics_port, "swarmbench_target_up", 0.0)
    assert "swarmbench_target_threads" not in down

    first = start_server(server_port, procs)
    up = wait_for(metrics_port, "swarmbench_target_up", 1.0)
    assert up["swarmbench_target_processes"] == 1 and up["swarmbench_target_threads"] >= 1
    cpu_before = up["swarmbench_target_cpu_seconds_total"]

    first.kill()
    first.wait()
    wait_for(metrics_port, "swarmbench_target_up", 0.0)
    start_server(server_port, procs)
    again = wait_for(metrics_port, "swarmbench_target_up", 1.0)
    assert again["swarmbench_target_cpu_seconds_total"] >= cpu_before
    assert collector.poll() is None, "the collector must keep running"

    collector.terminate()
    output = collector.communicate(timeout=WAIT_S)[0].decode()
    assert collector.returncode == 0
    assert f"nothing listens on TCP port {server_port}" in output
    assert "target found" in output
    assert "Traceback" not in output


def test_collector_bad_input_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "swarmbench", "collector", "--system", "x", "--pid", "0"],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--pid" in result.stderr
