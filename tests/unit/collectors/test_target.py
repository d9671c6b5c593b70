"""TargetCollector: the process tree read through an injected finder, on a private registry."""

from __future__ import annotations

import os
from collections.abc import Callable
from types import SimpleNamespace

import psutil
import pytest
from prometheus_client import CollectorRegistry
from swarmbench.collectors.target import TargetCollector, TargetNotFound, by_pid, by_pidfile

LABELS = {"system": "test", "host": "h1"}


def _registry(
    finder: Callable[[], psutil.Process | None],
) -> tuple[CollectorRegistry, TargetCollector]:
    registry = CollectorRegistry(auto_describe=False)
    collector = TargetCollector("test", "h1", finder)
    registry.register(collector)
    return registry, collector


def _value(registry: CollectorRegistry, name: str) -> float | None:
    return registry.get_sample_value(name, LABELS)


def test_reads_this_process() -> None:
    me = psutil.Process()
    registry, _ = _registry(lambda: me)
    sum(range(200_000))  # some CPU so the counter is above zero
    assert _value(registry, "swarmbench_target_up") == 1.0
    cpu = _value(registry, "swarmbench_target_cpu_seconds_total")
    own = me.cpu_times()
    # The whole tree counts: reaped children, and live ones (a long pytest session has both).
    tree = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        tree += t.user + t.system + t.children_user + t.children_system
    assert cpu is not None and own.user + own.system - 0.5 <= cpu <= tree + 0.5
    assert (_value(registry, "swarmbench_target_threads") or 0) >= 1
    assert (_value(registry, "swarmbench_target_resident_memory_bytes") or 0) > 1_000_000
    assert (_value(registry, "swarmbench_target_open_fds") or 0) >= 3
    assert _value(registry, "swarmbench_collector_errors_total") == 0.0


def test_nothing_behind_the_pid_reports_down() -> None:
    dead = _unused_pid()
    registry, collector = _registry(by_pid(dead))
    assert _value(registry, "swarmbench_target_up") == 0.0
    assert _value(registry, "swarmbench_target_cpu_seconds_total") == 0.0
    assert _value(registry, "swarmbench_target_threads") is None
    assert collector.down_reason == f"no process with pid {dead}"


def test_pidfile_problems_are_said(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "server.pid"
    with pytest.raises(TargetNotFound, match="cannot read pidfile"):
        by_pidfile(pidfile)()
    pidfile.write_text("garbage\n")
    with pytest.raises(TargetNotFound, match="does not hold a pid"):
        by_pidfile(pidfile)()
    pidfile.write_text(f"{os.getpid()}\n")
    assert by_pidfile(pidfile)().pid == os.getpid()  # type: ignore[union-attr]


class _Vanishing:
    """A process that reads once and is then gone, as a server that exits between scrapes."""

    def __init__(self, pid: int, cpu: float) -> None:
        self.pid = pid
        self.cpu = cpu
        self.alive = True

    def is_running(self) -> bool:
        return self.alive

    def status(self) -> str:
        return psutil.STATUS_RUNNING

    def children(self, recursive: bool = False) -> list[object]:
        return []

    def oneshot(self):  # type: ignore[no-untyped-def]
        return psutil.Process().oneshot()  # any context manager

    def cpu_times(self):  # type: ignore[no-untyped-def]
        if not self.alive:
            raise psutil.NoSuchProcess(self.pid)
        return SimpleNamespace(user=self.cpu, system=0.0, children_user=0.0, children_system=0.0)

    def memory_info(self):  # type: ignore[no-untyped-def]
        return psutil.Process().memory_info()

    def num_threads(self) -> int:
        return 1

    def num_fds(self) -> int:
        return 3


def test_restart_is_picked_up_and_cpu_never_goes_down() -> None:
    first, second = _Vanishing(100, cpu=5.0), _Vanishing(200, cpu=1.0)
    current: list[_Vanishing | None] = [first]

    def finder() -> psutil.Process | None:
        if current[0] is None:
            raise TargetNotFound("nothing listens on TCP port 1")
        return current[0]  # type: ignore[return-value]

    registry, collector = _registry(finder)
    assert _value(registry, "swarmbench_target_cpu_seconds_total") == 5.0
    first.alive = False
    current[0] = None
    assert _value(registry, "swarmbench_target_up") == 0.0
    assert collector.down_reason == "nothing listens on TCP port 1"
    current[0] = second
    assert _value(registry, "swarmbench_target_up") == 1.0
    # The new server's 1 s is added to the old one's 5 s: a counter, not a reset.
    assert _value(registry, "swarmbench_target_cpu_seconds_total") == 6.0
    assert collector.down_reason is None


def test_denied_read_counts_an_error() -> None:
    class Denied(_Vanishing):
        def cpu_times(self):  # type: ignore[no-untyped-def]
            raise psutil.AccessDenied(self.pid)

    registry, _ = _registry(lambda: Denied(1, 0.0))  # type: ignore[arg-type,return-value]
    assert _value(registry, "swarmbench_target_up") == 0.0
    # Every scrape that fails to read counts once.
    first = _value(registry, "swarmbench_collector_errors_total")
    assert first is not None and first >= 1.0
    assert _value(registry, "swarmbench_collector_errors_total") == first + 1


def _unused_pid() -> int:
    pid = 4_000_000
    while psutil.pid_exists(pid):
        pid -= 1
    return pid
