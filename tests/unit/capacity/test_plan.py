"""Cluster sizing: cores at <= 70% CPU, hosts, master headroom, figures from files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swarmbench.capacity import plan
from swarmbench.cli import main
from swarmbench.errors import UsageError

MASTER = plan.MasterCapacity(workers=1000, cpu_percent=30.0, source="test")


def _plan(rps: float, per_core: float, cores_per_host: int = 8) -> plan.Plan:
    return plan.make_plan(
        rps, "keepalive", per_core, generator="swarmbench", cores_per_host=cores_per_host,
        master=MASTER, source="test",
    )  # fmt: skip


def test_cores_keep_every_worker_at_or_below_the_ceiling() -> None:
    p = _plan(340_000, 1e6 / 21)
    assert p.worker_cores == 11  # 340,000 / (47,619 * 0.7) = 10.2
    assert p.cpu_percent <= 100 * plan.CPU_CEILING
    assert _plan(340_000, 1e6 / 21, cores_per_host=8).hosts == 2
    assert p.master_holds


def test_exactly_at_the_ceiling_needs_no_extra_core() -> None:
    assert _plan(70_000, 100_000).worker_cores == 1
    assert _plan(70_001, 100_000).worker_cores == 2


def test_too_many_workers_for_one_master_is_said() -> None:
    p = _plan(10_000_000, 1e6 / 112)
    assert p.worker_cores > MASTER.workers
    assert not p.master_holds


def test_figures_come_from_generator_bench_and_master_bench_json(tmp_path: Path) -> None:
    gen = tmp_path / "gen.json"
    gen.write_text(json.dumps({"summary": [
        {"generator": "swarmbench", "mode": "close", "per_core": 5000.0},
        {"generator": "wrk", "mode": "close", "per_core": 20000.0},
    ]}))  # fmt: skip
    assert plan.per_core_from(gen, "swarmbench", "close") == 5000.0
    with pytest.raises(UsageError, match="no fasthttp/close figure"):
        plan.per_core_from(gen, "fasthttp", "close")
    mb = tmp_path / "mb.json"
    mb.write_text(json.dumps({"largest_held": 500, "rows": [
        {"workers": 500, "cpu_percent": 20.5}, {"workers": 1000, "cpu_percent": 99.0},
    ]}))  # fmt: skip
    assert plan.master_from(mb) == plan.MasterCapacity(500, 20.5, f"master-bench results {mb}")


def test_unreadable_files_are_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    with pytest.raises(UsageError, match="not JSON written by"):
        plan.per_core_from(bad, "swarmbench", "keepalive")
    with pytest.raises(UsageError, match="cannot read"):
        plan.master_from(tmp_path / "absent.json")


def test_the_command_prints_the_plan_for_the_published_figures(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plan", "--target-rps", "340000"]) == 0
    out = capsys.readouterr().out
    assert "worker cores      11" in out
    assert "hosts             2 x 8 cores" in out
    assert main(["plan", "--target-rps", "51000", "--keepalive", "off"]) == 0
    assert "worker cores      11" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--target-rps", "0"],
        ["plan", "--target-rps", "lots"],
        ["plan", "--target-rps", "1000", "--keepalive", "maybe"],
        ["plan", "--target-rps", "1000", "--generator", "nosuch"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
