"""master-bench end to end: a real master from locustfiles/http.py, simulated workers."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from swarmbench.capacity import master_bench

pytestmark = pytest.mark.timeout(180)


def test_fifty_simulated_workers_ten_names_none_missing_and_exact_totals(tmp_path: Path) -> None:
    master_cpu, sim_cpus = master_bench.pick_cpus()
    settings = master_bench.Settings(
        duration_s=10, rate_per_worker=40_000, master_cpu=master_cpu, sim_cpus=sim_cpus,
        workdir=tmp_path, attach_timeout_s=60, names=10,
    )  # fmt: skip
    row = master_bench.run_one(50, settings)
    assert row.attached, (tmp_path / "master-50.log").read_text()[-2000:]
    assert row.missing == 0
    # Every simulated worker's requests arrived once: swarmbench's totals and Locust's agree,
    # in total and name by name (exact compares each name's count too).
    assert row.sent_requests > 50 * 40_000 * 3
    assert row.sent_requests == row.master_requests == row.locust_requests
    assert row.names == 10
    assert row.exact
    # The measured msgpack size of a loaded report, ten histograms and stats entries included.
    assert 5_000 < row.report_bytes_median <= row.report_bytes_max < 40_000
    assert row.rtt_p50_ms > 0
    assert row.sim_lag_p99_ms >= 0  # the simulators sampled their own loop's lag
    assert row.cpu_percent > 0


def _run(args: list[str], nofile: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    return subprocess.run(
        [sys.executable, "-m", "swarmbench", "master-bench", *args],
        capture_output=True, text=True, timeout=60, check=False, preexec_fn=limit,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "nofile", "needle"),
    [
        (["--workers", "0"], None, "at least 1"),
        (["--workers", "many"], None, "not a whole number"),
        (["--workers", "100,abc"], None, "not a whole number"),
        (["--workers", "100,1000"], 512, "ulimit -n"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], nofile: int | None, needle: str) -> None:
    proc = _run(args, nofile)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]


def test_the_fd_check_names_the_count_and_the_limit() -> None:
    with pytest.raises(master_bench.UsageError, match=r"--workers 2000 .* limit is 1024"):
        master_bench.check_fds([100, 2000], limit=1024)
    master_bench.check_fds([100, 2000], limit=20_000)


def _row(workers: int, cpu: float, *, missing: int = 0) -> master_bench.Row:
    return master_bench.Row(
        workers=workers, attached=True, attach_s=5, cpu_percent=cpu, cpu_peak_percent=cpu,
        cpu_wait_percent=0, rss_peak_bytes=1, rtt_p50_ms=1, rtt_p99_ms=5, rtt_max_ms=9,
        sim_cpu_percent=10, sim_lag_p99_ms=2, missing=missing, sent_requests=10, master_requests=10,
        locust_requests=10, exact=True, names=1, report_bytes_median=2700,
        report_bytes_max=2800,
    )  # fmt: skip


def test_largest_held_stops_at_the_first_count_not_held() -> None:
    rows = [_row(100, 6), _row(500, 20), _row(1000, 95), _row(2000, 60)]
    assert not rows[2].held  # over HELD_CPU_PERCENT
    assert master_bench.largest_held(rows) == 500
    assert master_bench.largest_held([_row(100, 6, missing=1)]) is None
    per_worker_us, projected = master_bench.projected_workers(rows) or (0.0, 0)
    assert per_worker_us == 400  # 20% of a core over 500 workers
    assert projected == 2250
