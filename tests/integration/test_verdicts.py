"""The bench's lower-bound verdict on real processes: a load held below the target's capacity
is called generator-bound, a saturated target is not."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from swarmbench.bench import rounds
from swarmbench.generators.runner import run_local
from swarmbench.generators.spec import LoadSpec
from swarmbench.generators.wrk import Wrk
from swarmbench.telemetry.sampler import TreeSampler
from swarmbench.util import pinning, processes

# Not imported from tests/conftest.py: in a whole-suite run `conftest` may name
# tests/cluster/conftest.py.
FAKE_SERVER = Path(__file__).resolve().parent.parent / "fakes" / "server.py"

#: start(mode, delay_ms) -> (url, pid)
StartFake = Callable[[str, float], tuple[str, int]]


@pytest.fixture
def pinned_fake() -> Iterator[StartFake]:
    """The fake server pinned to the target's cores; start(mode, delay_ms) -> (url, pid)."""
    procs: list[subprocess.Popen[bytes]] = []
    placement = pinning.split()

    def start(mode: str, delay_ms: float) -> tuple[str, int]:
        port = processes.free_port()
        cmd = [sys.executable, str(FAKE_SERVER), "--port", str(port), "--mode", mode]
        proc = subprocess.Popen(
            [*cmd, "--delay-ms", str(delay_ms)],
            preexec_fn=pinning.preexec(placement.target),  # noqa: PLW1509 - pinned from the start
        )
        procs.append(proc)
        processes.wait_listening("127.0.0.1", port, proc, 10.0)
        return f"http://127.0.0.1:{port}/", proc.pid

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def _round(url: str, pid: int, connections: int, workdir: Path) -> rounds.RoundFigures:
    placement = pinning.split()
    spec = LoadSpec(
        url=url, keepalive=True, connections=connections, duration_s=2, cpus=placement.generator
    )
    sampler = TreeSampler(pid).start()
    start = time.time()
    run = run_local(Wrk(), spec, workdir)
    usage = sampler.stop()
    cores = len(placement.target)
    return rounds.round_figures(
        0, [start, time.time()], run=run, usage=usage, spec=spec, target_cores=cores
    )


def test_a_load_held_below_the_targets_capacity_is_generator_bound(
    pinned_fake: StartFake, tmp_path: Path
) -> None:
    # One connection to a server answering after 5 ms: neither side is busy; the load is
    # what limits the figure, so it is a lower bound of the server's capacity.
    url, pid = pinned_fake("sleep", 5.0)
    figures = _round(url, pid, 1, tmp_path)
    assert figures.requests > 50
    assert figures.generator_bound, figures
    # On a machine busy enough, others take the target's idle core: still a lower bound.
    reason = figures.bound_reason or ""
    assert "the load, not the server" in reason or "the busy machine" in reason, reason


#: A saturated target starved by other work on a shared machine is a lower bound too (named as
#: the busy machine's doing): up to this many rounds look for one the machine left alone.
SATURATED_TRIES = 3


def test_a_saturated_target_is_not_generator_bound(pinned_fake: StartFake, tmp_path: Path) -> None:
    # 1 ms of CPU per request on one thread: the server's core is full long before wrk's is.
    url, pid = pinned_fake("burn", 1.0)
    for _ in range(SATURATED_TRIES):
        figures = _round(url, pid, 8, tmp_path)
        assert figures.requests > 100
        if not figures.generator_bound:
            assert figures.target_cpu_percent is not None and figures.target_cpu_percent > 50
            return
        # Never the load's fault: only other processes' CPU may have kept the target short.
        reason = figures.bound_reason or ""
        assert "the busy machine" in reason, reason
    # Every round starved by other work (2 cores, load average near 20): the verdict named it.
