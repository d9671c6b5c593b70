"""Bad input, every kind in one table: one line naming the problem, exit 2, never a traceback.

Each row runs a real command (`swarmbench ...` or `locust -f locustfiles/http.py ...`).
Placeholders: {busy} is a loopback port a listening socket holds; {file} an existing plain file;
{no_targets} an inventory without a targets group; {closed} one whose hosts are 127.0.0.1 on a
port nothing listens on (a host that does not answer SSH, without leaving loopback).
Bench rows get a fresh --out, which bad input must leave unwritten, except the rows that fail
only once the run has started (PLANNED: the results folder, the hosts' SSH).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from swarmbench.util import paths, processes

LOCUST = str(Path(sys.executable).with_name("locust"))
LOCUSTFILE = str(paths.ROOT / "locustfiles" / "http.py")
NO_HOST = "http://127.0.0.1:1/"
#: Rows whose command prints its plan before it meets the problem.
PLANNED = {"unwritable-out", "inventory-host-unreachable"}
INVENTORY_HOSTS = "[master]\nm\n[workers]\nw\n[targets]\nt\n[monitor]\nmon\n"


def swarmbench(*args: str) -> list[str]:
    return [sys.executable, "-m", "swarmbench", *args]


def locust(*args: str) -> list[str]:
    return [LOCUST, "-f", LOCUSTFILE, "--headless", "-t", "1s", "--loglevel", "WARNING", *args]


SB, LOC = swarmbench, locust
BUSY = "127.0.0.1:{busy}"
#: (id, command, needles the one line must hold)
TABLE: list[tuple[str, list[str], list[str]]] = [
    # bench's matrix and load options
    ("unknown-system", SB("bench", "--systems", "nginx"), ["unknown system 'nginx'"]),
    ("duration-10x", SB("bench", "--duration", "10x"), ["bad duration '10x'"]),
    ("users-0", SB("bench", "--users", "0"), ["--users", "must be greater than 0"]),
    ("rate-negative", SB("bench", "--rate", "-1"), ["--rate", "must be greater than 0"]),
    ("keepalive-maybe", SB("bench", "--keepalive", "maybe"), ["--keepalive takes on, off"]),
    ("unknown-generator", SB("bench", "--generators", "jmeter"), ["unknown generator 'jmeter'"]),
    ("non-loopback-target", SB("bench", "--target-host", "192.0.2.1"),
     ["local mode only loads loopback", "192.0.2.1"]),
    # the user's own systems and thresholds
    ("targets-file-missing", SB("bench", "--targets", "/nonexistent/mine.toml"),
     ["--targets", "not a readable file"]),
    ("targets-file-not-toml", SB("bench", "--targets", "{file}"), ["declares no [systems.NAME]"]),
    ("targets-url-not-loopback", SB("bench", "--targets", "{remote_url}"),
     ["mine: local mode only loads loopback", "192.0.2.1"]),
    ("locustfile-missing", SB("bench", "--locustfile", "/nonexistent/mine.py", "--user-class", "A"),
     ["--locustfile", "not a readable file"]),
    ("user-class-alone", SB("bench", "--user-class", "ApiUser"),
     ["--locustfile and --user-class go together"]),
    ("threshold-unknown-metric", SB("bench", "--threshold", "p99<100"),
     ["--threshold", "unknown metric 'p99'"]),
    ("threshold-unknown-system", SB("bench", "--systems", "rust-std", "--threshold", "x:rps>1"),
     ["--threshold names x"]),
    # a port a user gives that is already taken
    ("targets-run-port-taken", SB("targets", "run", "node-std", "--port", "{busy}"),
     ["port {busy}", "already in use"]),
    ("collector-bind-taken",
     SB("collector", "--system", "rust-std", "--listen-port", "1", "--bind", BUSY),
     [BUSY, "in use"]),
    ("locust-metrics-bind-taken", LOC("--host", NO_HOST, "--metrics-bind", BUSY, "KeepAliveUser"),
     [BUSY, "in use", "--metrics-bind"]),
    # the locustfile's --host
    ("locust-host-not-http", LOC("--metrics-bind", "", "--host", "127.0.0.1:80", "KeepAliveUser"),
     ["--host", "not an http URL"]),
    ("locust-host-https",
     LOC("--metrics-bind", "", "--host", "https://127.0.0.1/", "KeepAliveUser"),
     ["https is not supported"]),
    ("locust-no-host", LOC("--metrics-bind", "", "KeepAliveUser"), ["--host is required"]),
    # targets and verify
    ("build-unknown", SB("targets", "build", "nginx"), ["unknown system 'nginx'", "tokio"]),
    ("run-unknown", SB("targets", "run", "nginx", "--port", "1"), ["unknown system", "known:"]),
    ("port-70000", SB("targets", "run", "tokio", "--port", "70000"), ["above 65535"]),
    ("threads-0", SB("targets", "run", "tokio", "--port", "1", "--threads", "0"),
     ["greater than 0"]),
    ("verify-https", SB("verify", "https://127.0.0.1/"), ["https is not supported"]),
    ("verify-not-url", SB("verify", "not-a-url"), ["not an http URL"]),
    ("unknown-command", SB("nonsense"), ["invalid choice"]),
    # soak
    ("soak-unknown-system", SB("soak", "--system", "nginx"), ["unknown system 'nginx'"]),
    ("soak-warmup-too-long", SB("soak", "--duration", "10s", "--warmup", "20s"),
     ["--warmup", "shorter than --duration"]),
    ("unwritable-out", SB("bench", "--systems", "node-std", "--out", "{file}/run"),
     ["cannot write results to"]),
    # the cluster backend's inventory
    ("inventory-missing-group", SB("bench", "--inventory", "{no_targets}"),
     ["inventory group 'targets' missing or empty"]),
    ("inventory-host-unreachable",
     SB("bench", "--inventory", "{closed}", "--systems", "rust-std"),
     ["does not answer SSH", "nothing was started"]),
]  # fmt: skip
ROWS = [pytest.param(name, argv, needles, id=name) for name, argv, needles in TABLE]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _placeholders(tmp_path: Path, busy_port: int) -> dict[str, str]:
    blocker = tmp_path / "file"
    blocker.write_text("")
    no_targets = tmp_path / "no-targets.ini"
    no_targets.write_text(INVENTORY_HOSTS.replace("[targets]\nt\n", ""))
    closed = tmp_path / "closed.ini"
    closed.write_text(
        INVENTORY_HOSTS + "[all:vars]\nansible_host=127.0.0.1\n"
        f"ansible_port={processes.free_port()}\nansible_user=root\n"
    )
    remote_url = tmp_path / "remote.toml"
    remote_url.write_text(
        '[systems.mine]\nlanguage = "go"\nversion = "1"\nurl = "http://192.0.2.1:8080/"\n'
    )
    return {
        "remote_url": str(remote_url),
        "busy": str(busy_port),
        "file": str(blocker),
        "no_targets": str(no_targets),
        "closed": str(closed),
    }


@pytest.mark.parametrize(("name", "argv", "needles"), ROWS)
def test_bad_input(
    name: str, argv: list[str], needles: list[str], busy_port: int, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    fill = _placeholders(tmp_path, busy_port)
    argv = [arg.format(**fill) for arg in argv]
    if argv[1:3] == ["-m", "swarmbench"] and argv[3] == "bench" and "--out" not in argv:
        argv += ["--out", str(out)]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, cwd=paths.ROOT, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if name not in PLANNED:
        assert not out.exists()  # bad input writes nothing
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle.format(**fill) in lines[0]


def test_missing_toolchain_names_it_and_how_to_install() -> None:
    env = dict(os.environ, PATH="/nonexistent")
    proc = subprocess.run(
        swarmbench("targets", "build", "--force", "gin"),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "gin needs 'go'" in proc.stderr
    assert "install Go" in proc.stderr


def test_a_free_port_passes_the_port_check() -> None:
    processes.check_port_free("127.0.0.1", processes.free_port())
