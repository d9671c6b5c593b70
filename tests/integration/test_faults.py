"""Faults a long bench meets, each survived, recorded in the cell it touched and reported.

One local bench run of three Locust cells takes three faults, injected from outside by PID:
a Locust worker is SIGKILLed in the first cell, the target server (and Prometheus) in the
second; the third cell must still run. A second run fills its results folder (a tmpfs) between
cells. Hostile servers are loaded by Locust directly.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from fakes.owned import owned_processes

from swarmbench.util import paths

LOCUST = str(Path(sys.executable).with_name("locust"))
LOCUSTFILE = paths.ROOT / "locustfiles" / "http.py"
#: rust-std loses a worker, go-std is killed (with Prometheus), node-std runs after both.
FAULT_SYSTEMS = ("rust-std", "go-std", "node-std")
MEASURE_S = 12
#: A fault strikes this long after the measuring Locust's workers start loading the target.
KILL_AFTER_S = 1.0
FAULT_RUN_TIMEOUT_S = 240


def bench(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "swarmbench", "bench", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _find(
    pid: int, match: Callable[[list[str]], bool], seen: set[psutil.Process]
) -> psutil.Process | None:
    found = _descendants(pid)
    seen.update(found)
    for proc in found:
        try:
            if match(proc.cmdline()):
                return proc
        except psutil.Error:
            continue
    return None


def _measuring_locust(cell_id: str) -> Callable[[list[str]], bool]:
    """The cell's measuring Locust (not its warm-up: that one's JSON is in warmup/).

    Its forked workers share the master's command line; _master() tells them apart.
    """
    suffix = f"/work/{cell_id}/round-1/locust-latency.json"
    return lambda cmd: any(arg.endswith(suffix) for arg in cmd) and "--processes" in cmd


def _master(proc: psutil.Process) -> psutil.Process:
    """The master of a forked Locust: the process whose parent has another command line."""
    parent = proc.parent()
    while parent is not None and parent.cmdline() == proc.cmdline():
        proc, parent = parent, parent.parent()
    return proc


def _loading(worker: psutil.Process) -> bool:
    """A worker's users are running: besides its master link it holds a connection."""
    try:
        conns = worker.net_connections(kind="tcp")
    except psutil.Error:
        return False
    return sum(c.status == psutil.CONN_ESTABLISHED for c in conns) >= 2


class FaultDriver:
    """Watches a bench's process tree from a thread and kills what each cell's fault names."""

    def __init__(self, bench_pid: int) -> None:
        self.bench_pid = bench_pid
        self.log: dict[str, Any] = {}
        self.error: BaseException | None = None
        #: every process the bench started that the driver saw: all must be gone at the end
        self.seen: set[psutil.Process] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FaultDriver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _wait_for(self, match: Callable[[list[str]], bool]) -> psutil.Process:
        while not self._stop.is_set():
            found = _find(self.bench_pid, match, self.seen)
            if found is not None:
                return found
            time.sleep(0.1)
        raise TimeoutError("stopped")

    def _workers(self, master: psutil.Process) -> list[psutil.Process]:
        """The master's two workers, once both are loading the target."""
        while not self._stop.is_set():
            try:
                children = master.children()
            except psutil.NoSuchProcess:
                # On a machine too busy for the driver to see both workers load within the
                # cell: say so, rather than psutil's bare "process PID not found".
                raise RuntimeError(
                    f"the cell's Locust (pid {master.pid}) ended before the driver saw both "
                    f"its workers loading the target within the cell's {MEASURE_S} s"
                ) from None
            if len(children) >= 2 and all(_loading(w) for w in children):
                return children
            time.sleep(0.1)
        raise TimeoutError("stopped")

    def _run(self) -> None:
        try:
            self._kill_a_worker("rust-std.keepalive-on.locust")
            self._kill_target_and_prometheus("go-std.keepalive-on.locust")
        except TimeoutError:
            pass
        except BaseException as exc:  # surfaced by the tests, not lost in the thread
            self.error = exc

    def _kill_a_worker(self, cell_id: str) -> None:
        master = _master(self._wait_for(_measuring_locust(cell_id)))
        worker = self._workers(master)[0]
        self.log["worker_pid"] = worker.pid
        time.sleep(KILL_AFTER_S)
        os.kill(worker.pid, signal.SIGKILL)
        self.log["worker_killed_at"] = time.time()

    def _kill_target_and_prometheus(self, cell_id: str) -> None:
        self._workers(_master(self._wait_for(_measuring_locust(cell_id))))
        time.sleep(KILL_AFTER_S)
        server = self._wait_for(lambda cmd: "--port" in cmd and "go-std" in " ".join(cmd))
        prometheus = self._wait_for(lambda cmd: cmd[0].endswith("prometheus"))
        os.kill(server.pid, signal.SIGKILL)
        os.kill(prometheus.pid, signal.SIGKILL)
        self.log["target_killed_at"] = time.time()


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, FaultDriver]]:
    out = tmp_path_factory.mktemp("faults") / "run"
    cmd = [sys.executable, "-m", "swarmbench", "bench", "--systems", ",".join(FAULT_SYSTEMS)]
    cmd += ["--keepalive", "on", "--generators", "locust", "--workers", "2", "--users", "4"]
    cmd += ["--duration", f"{MEASURE_S}s", "--warmup", "1s", "--out", str(out)]
    cmd += ["--rounds", "1", "--same-traffic", "off"]  # one cell per fault, as it was
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with FaultDriver(proc.pid) as driver:
            _, stderr = proc.communicate(timeout=FAULT_RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert driver.error is None, driver.error
    assert proc.returncode == 0, stderr[-3000:]
    yield out, stderr, driver


def _cell(out: Path, system: str) -> dict[str, Any]:
    return json.loads((out / "cells" / f"{system}.keepalive-on.locust.json").read_text())


def test_lost_worker_is_recorded_and_the_cell_finishes(fault_run) -> None:
    out, stderr, driver = fault_run
    assert "Traceback" not in stderr
    assert "worker_killed_at" in driver.log, "the worker was never killed"
    cell = _cell(out, "rust-std")
    assert not cell["verdict"].startswith("failed"), cell["verdict"]
    lost = [e for e in cell["events"] if e.get("event") == "worker-lost"]
    assert len(lost) == 1, cell["events"]
    # Locust marks a worker missing after ~3 missed heartbeats (1 s apart).
    assert 0 < lost[0]["at"] - driver.log["worker_killed_at"] < 10
    assert lost[0]["last_seen"] is not None  # heartbeats arrived before the kill
    assert lost[0]["last_seen"] <= driver.log["worker_killed_at"] + 0.5
    assert lost[0]["rps_after_loss"] > 0  # the surviving worker kept offering load
    assert cell["requests"] > 0
    # The master did not wait out its final-report timeout for the dead worker.
    work = out / "work" / "rust-std.keepalive-on.locust" / "round-1"
    locust_log = (work / "locust.out").read_text()
    assert "no final report from" not in locust_log


def test_killed_target_fails_its_cell_with_reasons(fault_run) -> None:
    out, _, driver = fault_run
    assert "target_killed_at" in driver.log, "the target was never killed"
    cell = _cell(out, "go-std")
    assert cell["verdict"].startswith("failed: target exited during the cell's round 1 ("), cell[
        "verdict"
    ]
    assert set(cell["failures_by_reason"]) <= {"refused", "reset"}, cell["failures_by_reason"]
    assert cell["failures_by_reason"].get("refused", 0) > 0
    for reason, count in cell["failures_by_reason"].items():
        assert f"{reason} {count:,}" in cell["verdict"]


def test_cells_after_the_faults_still_run(fault_run) -> None:
    out, _, driver = fault_run
    rows = {r["system"]: r for r in csv.DictReader((out / "summary.csv").open())}
    assert set(rows) == set(FAULT_SYSTEMS)
    cell = _cell(out, "node-std")
    assert not cell["verdict"].startswith("failed"), cell["verdict"]
    assert cell["requests"] > 100
    details = next(e for e in cell["events"] if "generator_details" in e)["generator_details"]
    assert len(details["workers"]) == 2  # each cell's Locust forks its workers afresh
    _, alive = psutil.wait_procs(driver.seen, timeout=10)
    assert not alive, [p.pid for p in alive]  # nothing the bench started outlives it


def test_prometheus_loss_is_marked_not_zero(fault_run) -> None:
    out, _, _ = fault_run
    assert _cell(out, "rust-std")["prometheus"]["available"] is True  # before the kill
    prom = _cell(out, "node-std")["prometheus"]
    assert prom["available"] is False
    assert "Prometheus exited during the run" in prom["reason"]
    assert "cpu_us_per_request" not in prom


def test_report_shows_each_fault(fault_run) -> None:
    out, _, _ = fault_run
    report = (out / "report.md").read_text()
    assert "go-std, keep-alive on, locust: failed: target exited during the cell" in report
    assert "node-std, keep-alive on, locust: server figures from Prometheus missing: " in report
    assert "Prometheus exited during the run" in report
    assert "rust-std, keep-alive on, locust: worker " in report


# -- a results folder that fills up mid-run ----------------------------------------------------
@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 MB tmpfs of our own (as root, chmod does not stop writes; a full disk does)."""
    mount = tmp_path / "fs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> None:
    block = b"\0" * (1 << 20)
    with (folder / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(block)
                fh.flush()
        except OSError:
            pass


def test_full_results_folder_stops_with_one_line_and_keeps_cells(
    small_fs: Path, bench_first_cell: Callable[[str, Path], subprocess.Popen[str]]
) -> None:
    out = small_fs / "run"
    proc = bench_first_cell("rust-std", out)
    _fill(small_fs)
    children: set[psutil.Process] = set()
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        children.update(_descendants(proc.pid))  # the next cell's target too, if it starts
        time.sleep(0.1)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("swarmbench: ")]
    assert len(errors) == 1, stderr[-2000:]
    assert "cannot write results to" in errors[0]
    assert "No space left on device" in errors[0]
    cells = list((out / "cells").glob("*.json"))
    assert [p.name for p in cells] == ["rust-std.keepalive-on.wrk.json"]
    assert json.loads(cells[0].read_text())["requests"] > 0  # whole, parseable
    assert next(csv.DictReader((out / "summary.csv").open()))["system"] == "rust-std"
    assert not list(out.rglob(".*.tmp"))  # nothing half-written
    _, alive = psutil.wait_procs(children | set(owned_processes(str(out))), timeout=10)
    assert not alive, [p.cmdline() for p in alive]  # the target, Prometheus, collectors


# -- hostile servers against the Locust users ------------------------------------------------
HOSTILE = {
    # mode: (reason, users, seconds): silent needs the client's 10 s timeout to pass
    "ok": ("", 20, 6),  # the memory baseline, paced (RATE) so it does not starve the others
    "garbage": ("protocol", 2, 6),
    "huge": ("too-large", 20, 6),
    "mid-body": ("short-body", 2, 6),
    "silent": ("timeout", 2, 13),
}
#: Peak RSS above the baseline run's allowed for a hostile server: less than one 10 MB answer
#: (before the 1 MiB bound, 20 users against "huge" peaked ~19 MB above the baseline).
RSS_OVER_BASELINE_BYTES = 8 * 1024 * 1024
BASELINE_RATE = "100"
#: Between starts: five Locust imports at once on a busy 2-core machine starve the first run.
STAGGER_S = 0.7


def _rss_samples(proc: subprocess.Popen[str], samples: list[int]) -> None:
    try:
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            samples.append(ps.memory_info().rss)
            time.sleep(0.2)
    except psutil.Error:
        pass


@dataclass
class HostileRun:
    proc: subprocess.Popen[str]
    json: Path
    samples: list[int] = field(default_factory=list)
    stderr: str = ""

    def finish(self) -> dict[str, Any]:
        """Wait for Locust; its latency JSON ({} if it wrote none)."""
        try:
            self.stderr = self.proc.communicate(timeout=60)[1]
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        return json.loads(self.json.read_text()) if self.json.exists() else {}


def _start_hostile(mode: str, url: str, folder: Path) -> HostileRun:
    _, users, seconds = HOSTILE[mode]
    out = folder / f"{mode}-{time.monotonic_ns()}.json"
    cmd = [LOCUST, "-f", str(LOCUSTFILE), "--headless", "--host", url]
    cmd += ["-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--metrics-bind", ""]
    cmd += ["--latency-json", str(out), "--only-summary", "--stop-timeout", "1"]
    if mode == "ok":
        cmd += ["--rate", BASELINE_RATE]
    proc = subprocess.Popen(
        [*cmd, "KeepAliveUser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    run = HostileRun(proc, out)
    threading.Thread(target=_rss_samples, args=(proc, run.samples), daemon=True).start()
    return run


def _attempts_expected(mode: str) -> int:
    _, users, _ = HOSTILE[mode]
    return users if mode == "silent" else 2 * users


def test_hostile_servers_fail_by_reason_with_bounded_memory(fake_server, tmp_path: Path) -> None:
    urls = {mode: fake_server(mode) for mode in HOSTILE}
    runs = {}
    try:
        for mode, url in urls.items():
            runs[mode] = _start_hostile(mode, url, tmp_path)
            time.sleep(STAGGER_S)
        results = {mode: run.finish() for mode, run in runs.items()}
        for mode, result in list(results.items()):
            if result.get("requests", 0) < _attempts_expected(mode):
                # Starved of its run by a busy machine, it says little: once more, alone.
                runs[mode] = _start_hostile(mode, urls[mode], tmp_path)
                results[mode] = runs[mode].finish()
    finally:
        for run in runs.values():
            if run.proc.poll() is None:
                run.proc.kill()
                run.proc.wait()
    baseline = max(runs["ok"].samples)
    for mode, (reason, _, _) in HOSTILE.items():
        run, result = runs[mode], results[mode]
        assert "Traceback" not in run.stderr, run.stderr[-2000:]
        assert run.samples, mode
        peak = max(run.samples)
        print(f"{mode}: peak RSS {peak >> 20} MiB, baseline {baseline >> 20} MiB")
        if mode == "ok":
            continue
        assert peak - baseline < RSS_OVER_BASELINE_BYTES, (mode, peak, baseline)
        # On a busy machine a fake server thread can miss the client's 10 s timeout too: that
        # is counted as such; the server's own fault must still be what most requests met.
        by_reason = result["failures_by_reason"]
        assert by_reason.keys() <= {reason, "timeout"}, (mode, result, run.stderr[:999])
        late = by_reason.get("timeout", 0) if reason != "timeout" else 0
        assert by_reason.get(reason, 0) > late, (mode, result)
        assert result["requests"] == result["failures"]
        # The users kept going: more attempts than users (silent: each timed out and retried).
        assert result["failures"] >= _attempts_expected(mode), (mode, result)
