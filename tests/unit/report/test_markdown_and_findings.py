"""report.md from a synthetic results folder: tables, ranks, normalisation, findings."""

from __future__ import annotations

import re
from pathlib import Path

from fakes import rundir as fake

from swarmbench.report import findings, model, writer
from swarmbench.results import RunDir


def _md(path: Path) -> str:
    writer.write(path)
    return (path / "report.md").read_text()


def _row(md: str, title: str, system: str) -> list[str]:
    """The cells of one system's row in the table under `### title`."""
    section = md.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and len(cells) > 1 and cells[1] == system:
            return cells
    raise AssertionError(f"no row for {system} under {title}")


def test_tables_are_ranked_by_requests_per_second_within_each_table(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path)
    fake.alter(rundir, "node-std", "off", "wrk", rps=99_000.0)
    md = _md(tmp_path)
    assert _row(md, "wrk, keep-alive on", "tokio")[0] == "1"
    assert _row(md, "wrk, keep-alive on", "node-std")[0] == "7"
    assert _row(md, "wrk, keep-alive off", "node-std")[0] == "1"
    # off is its own order: hyperlane 9,500 > tokio 9,000 > rocket 8,000
    assert _row(md, "wrk, keep-alive off", "hyperlane")[0] == "2"
    assert _row(md, "wrk, keep-alive off", "tokio")[0] == "3"
    # one table per generator and mode, in that order
    titles = re.findall(r"^### ((?:locust|wrk|ab), keep-alive o\w+)$", md, re.M)
    assert titles[:6] == [
        "locust, keep-alive on", "wrk, keep-alive on", "ab, keep-alive on",
        "locust, keep-alive off", "wrk, keep-alive off", "ab, keep-alive off",
    ]  # fmt: skip


def test_table_row_holds_the_articles_columns(tmp_path: Path) -> None:
    fake.build(tmp_path)
    row = _row(_md(tmp_path), "wrk, keep-alive on", "node-std")
    # rank, system, rps, interval, mean, p99, failures, CPU %, CPU µs/req, Prometheus, RSS,
    # bound, verdict, notes
    assert row[2] == "20,000"
    assert row[3] == "19,800 to 20,200"  # the rounds' interval
    assert row[4] == "4,800"  # node-std's fake latency is 4x tokio's 1,200 µs
    assert row[7] == "80"
    assert row[8] == "40"
    assert row[10] == "12.0 MiB"
    assert row[11:] == ["no", "ok", ""]


def test_published_and_measured_are_normalised_to_tokio(tmp_path: Path) -> None:
    fake.build(tmp_path)
    rep = model.load(RunDir(tmp_path))
    comps = {(c.generator, c.mode): c for c in model.comparisons(rep)}
    wrk_on = comps[("wrk", "on")]
    assert wrk_on.published_base == wrk_on.measured_base == "tokio"
    assert wrk_on.measured_norm["node-std"] == 20_000 / 50_000
    assert wrk_on.published_norm["node-std"] == 139_412 / 340_130
    off = comps[("wrk", "off")]
    assert off.published_norm["hyperlane"] == 51_031 / 49_555  # above 1: faster than tokio
    md = _md(tmp_path)
    assert "| node-std | 139,412 | 0.41 | 20,000 | 0.40 |" in md


def test_without_tokio_the_fastest_is_the_baseline_and_the_report_says_so(
    tmp_path: Path,
) -> None:
    fake.build(tmp_path, systems=("hyperlane", "node-std"), generators=("wrk",))
    md = _md(tmp_path)
    assert "tokio was not measured with wrk, keep-alive on" in md
    assert "| published (hyperlane = 1.0) | measured req/s | measured (hyperlane = 1.0) |" in md
    # published 340,130 / 324,323; measured 20,000 / 48,000 and 139,412 / 324,323
    assert "| tokio | 340,130 | 1.05 | n/a (not measured) | n/a |" in md
    assert "| node-std | 139,412 | 0.43 | 20,000 | 0.42 |" in md


def test_missing_figures_are_na_with_a_reason_never_zero(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, generators=("wrk",))
    fake.alter(
        rundir, "gin", "on", "wrk",
        cpu_us_per_request=None, target_cpu_percent=None, rss_peak_bytes=None,
        latency_us={"p50": 900.0},
    )  # fmt: skip
    md = _md(tmp_path)
    row = _row(md, "wrk, keep-alive on", "gin")
    assert row[4] == row[5] == row[7] == row[8] == row[10] == "n/a"
    assert "gin: mean and p99 latency n/a: wrk did not report it" in md
    assert "gin: target CPU n/a: the target was not sampled" in md
    assert "0 B" not in md


def test_failed_and_skipped_cells_are_listed_with_their_reasons(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, generators=("wrk", "ab"))
    fake.alter(rundir, "gin", "off", "ab", verdict="failed: verification (content-length)")
    fake.alter(rundir, "rocket", "on", "ab", verdict="skipped: ab cannot pace a fixed rate")
    md = _md(tmp_path)
    failed = md.split("### Failed and skipped cells\n", 1)[1].split("###", 1)[0]
    assert "- gin, keep-alive off, ab: failed: verification (content-length)" in failed
    assert "- rocket, keep-alive on, ab: skipped: ab cannot pace a fixed rate" in failed
    row = _row(md, "ab, keep-alive off", "gin")
    assert row[0] == "n/a" and row[2] == "—" and row[-2].startswith("failed: verification")
    assert "| gin | 47,081 | 0.91 | n/a (failed: verification (content-length)) | n/a |" in md


def test_node_cpu_per_request_is_compared_with_the_rust_servers(tmp_path: Path) -> None:
    fake.build(tmp_path, generators=("wrk",))
    md = _md(tmp_path)
    # node-std 40 µs; Rust 10, 11, 12.5, 14 (median 11.75): 2.9x to 4.0x, median 3.4x
    assert (
        "wrk, keep-alive on: node-std used 40 CPU µs per request, the Rust servers 10 to 14 "
        "(tokio 10, hyperlane 11, rocket 12.5, rust-std 14): node-std costs 2.9x to 4.0x as "
        "much CPU per request (median 3.4x)." in md
    )
    assert "Measured: node-std spends 3.4x to 3.4x the CPU per request" in md
    # gin and go-std are Go, not Rust: not in the comparison
    sentence = next(s for s in findings.cpu_sentences(_load(tmp_path)) if "wrk, keep" in s)
    assert "gin" not in sentence and "go-std" not in sentence


def _load(path: Path) -> model.Report:
    return model.load(RunDir(path))


def test_no_cpu_comparison_without_node_or_rust(tmp_path: Path) -> None:
    fake.build(tmp_path / "a", systems=("tokio", "gin"), generators=("wrk",))
    assert "node-std was not measured in this run" in _md(tmp_path / "a")
    fake.build(tmp_path / "b", systems=("gin", "node-std"), generators=("wrk",))
    assert "No Rust server was measured beside node-std" in _md(tmp_path / "b")


def test_generator_bound_cells_are_listed_as_lower_bounds(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, generators=("wrk",))
    assert "No cell was generator-bound" in _md(tmp_path)
    fake.alter(
        rundir, "tokio", "on", "wrk",
        verdict="generator-bound", generator_bound=True, generator_cpu_percent=97.0,
    )  # fmt: skip
    md = _md(tmp_path)
    assert (
        "- tokio, keep-alive on, wrk: the generator was at 97% CPU; the 50,000 req/s measured "
        "is a lower bound of the server's capacity" in md
    )
    assert "| tokio | 340,130 | 1.00 | 50,000 (generator-bound: lower bound) | 1.00 |" in md
    # the bench's own reason, when it gave one, is the one named
    reason = "the target used 40% of its 2 core(s) while other processes took the rest"
    fake.alter(rundir, "tokio", "on", "wrk", bound_reason=reason)
    assert f"- tokio, keep-alive on, wrk: {reason}; the 50,000 req/s measured is a" in _md(tmp_path)
    fake.alter(rundir, "tokio", "on", "wrk", bound_reason=None)
    row = _row(md, "wrk, keep-alive on", "tokio")
    assert row[11] == "yes" and row[2] == "≥ 50,000" and row[3].endswith("(lower bound)")


def test_cells_measured_beside_other_load_are_named(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, generators=("wrk",))
    assert "Other load on the machine" not in _md(tmp_path)
    fake.alter(rundir, "tokio", "on", "wrk", other_cpu_percent=60.0)
    fake.alter(rundir, "gin", "on", "wrk", other_cpu_percent=10.0)
    md = _md(tmp_path)
    assert "### Other load on the machine (these figures may be low: rerun them)" in md
    assert "- tokio, keep-alive on, wrk: other processes used 60% of a core while it" in md
    assert "gin, keep-alive on, wrk: other processes" not in md
    html = (tmp_path / "report.html").read_text()
    assert "tokio, keep-alive on, wrk: other processes used 60% of a core" in html


def test_cells_measured_while_the_hypervisor_ran_other_guests_are_named(tmp_path: Path) -> None:
    """Steal is no process's CPU, so "other processes" misses it: it is named on its own."""
    rundir = fake.build(tmp_path, generators=("wrk",))
    assert "hypervisor" not in _md(tmp_path)  # no steal measured: nothing said
    fake.alter(rundir, "rocket", "off", "wrk", steal_cpu_percent=75.0)
    fake.alter(rundir, "gin", "on", "wrk", steal_cpu_percent=30.0)
    fake.alter(rundir, "tokio", "on", "wrk", other_cpu_percent=60.0, steal_cpu_percent=52.0)
    md = _md(tmp_path)
    assert (
        "- rocket, keep-alive off, wrk: the hypervisor ran other guests for 75% of a core while"
        in md
    )
    assert (
        "- tokio, keep-alive on, wrk: other processes used 60% of a core and the hypervisor ran "
        "other guests for 52% of a core while it was measured" in md
    )
    assert "gin, keep-alive on, wrk: the hypervisor" not in md
    assert "other processes or guests were busy during 2 of" in md


def test_the_runs_steal_is_said_with_its_conditions(tmp_path: Path) -> None:
    """Steal under every round (a shared host) is a condition of the run, said once."""
    rundir = fake.build(tmp_path, generators=("wrk",))
    for i, cell in enumerate(rundir.cells()):
        for rnd in cell.rounds:
            rnd["steal_cpu_percent"] = 20.0 + i
        rundir.write_cell(cell)
    top = 20.0 + len(rundir.cells()) - 1
    md = _md(tmp_path)
    assert "the virtual machine's hypervisor ran other guests for a median " in md
    assert f"% of a core per round (up to {top:.0f}%: steal, in no process's CPU figure)" in md


def test_rounds_measured_again_are_named(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, generators=("wrk",))
    assert "Rounds measured again" not in _md(tmp_path)
    why = "the load ran 0.03 s of the 1 s planned"
    retried = [{"event": "round-retried", "round": 2, "why": why}]
    fake.alter(rundir, "gin", "off", "wrk", events=retried)
    md = _md(tmp_path)
    assert f"- gin, keep-alive off, wrk: round 2 measured again: {why}" in md
    assert (
        f"gin, keep-alive off, wrk: round 2 measured again: {why}"
        in (tmp_path / "report.html").read_text()
    )


def test_missing_prometheus_figures_say_why(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, generators=("wrk",))
    fake.alter(
        rundir, "go-std", "on", "wrk",
        prometheus={"available": False, "reason": "prometheus not installed"},
    )  # fmt: skip
    md = _md(tmp_path)
    assert (
        "- go-std, keep-alive on, wrk: server figures from Prometheus missing: "
        "prometheus not installed" in md
    )
    assert _row(md, "wrk, keep-alive on", "go-std")[9] == "n/a"


def test_header_and_conditions_are_named(tmp_path: Path) -> None:
    fake.build(tmp_path, generators=("wrk",))
    md = _md(tmp_path)
    assert md.startswith("# swarmbench report: run 20261126-120000\n")
    assert "- Placement: target pinned to CPU 1, generator to CPU 0" in md
    assert "Test CPU 9000, 2 logical CPUs, 8.0 GiB RAM" in md
    assert (
        "Conditions: wrk, 64 connections, 5 s measured, 1 wrk thread, 2 s warm-up, "
        "1 server thread, target pinned to CPU 1, generator to CPU 0." in md
    )
    for text in (
        "i9-14900KF",
        "client and server sharing one host's CPUs",
        "published wrk -c360 and ab -c1000; here 64",
        "Response headers equalised",
        "node-std Content-Length fixed",
        "hyperlane 4.1.2 to 4.31.0",
        "2.0 s of warm-up per cell",
        "DEV Community, 2025-10-26",
    ):
        assert text in md, text


def test_a_run_without_cells_still_reports(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, systems=("tokio",), generators=("wrk",))
    for path in rundir.cells_dir.glob("*.json"):
        path.unlink()
    md = _md(tmp_path)
    assert "No cell has finished yet." in md
    assert "wrk, keep-alive on: not measured in this run." in md


def test_a_percentile_under_the_generators_resolution_is_not_zero(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, systems=("tokio",), generators=("ab",))
    fake.alter(rundir, "tokio", "on", "ab", latency_us={"mean": 710.0, "p50": 0.0, "p99": 0.0})
    row = _row(_md(tmp_path), "ab, keep-alive on", "tokio")
    assert row[4] == "710"  # ab's mean is a computed average, finer than its percentiles
    assert row[5] == "< 1,000"


def test_latency_by_request_name_for_a_users_locustfile(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path)
    md = _md(tmp_path)
    assert "Latency by request name" not in md  # swarmbench's own users: one name, no table
    names = [
        {"method": "GET", "name": "home", "requests": 2000, "failures": 0, "rps": 1000.0,
         "latency_us": {"p50": 310.0, "p99": 990.0, "p99.9": 1500.0, "max": 4200.0}},
        {"method": "GET", "name": "search", "requests": 1000, "failures": 3, "rps": 500.0,
         "latency_us": {"p50": 450.0, "p99": 2100.0, "p99.9": 3000.0, "max": 9100.0}},
    ]  # fmt: skip
    fake.alter(rundir, "node-std", "on", "locust", by_name=names)
    run = rundir.read_run().raw
    run["parameters"].update(user_class="ShopUser", locustfile="/srv/shop/locustfile.py")
    rundir.write_run(run)
    md = _md(tmp_path)
    section = md.split("## Latency by request name: ShopUser (/srv/shop/locustfile.py)\n", 1)[1]
    rows = [line for line in section.split("\n## ", 1)[0].splitlines() if "node-std" in line]
    assert rows == [
        "| node-std | keep-alive on | GET home | 2,000 | 0 | 1,000 | 310 | 990 | 1,500 | 4,200 |",
        "| node-std | keep-alive on | GET search | 1,000 | 3 | 500 | 450 | 2,100 | 3,000 | 9,100 |",
    ]
    assert "GET search" in (tmp_path / "report.html").read_text()


def test_locust_against_wrk_names_the_systems_below_the_goal(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, generators=("locust", "wrk"))
    wrk = {c.system: c.rps for c in rundir.cells() if (c.keepalive, c.generator) == ("on", "wrk")}
    for system in ("rocket", "gin", "go-std", "node-std"):
        fake.alter(rundir, system, "on", "locust", rps=0.8 * wrk[system])
    fake.alter(rundir, "tokio", "on", "locust", generator_bound=True, verdict="generator-bound")
    md = _md(tmp_path)
    on = next(s for s in md.splitlines() if s.startswith("- keep-alive on: Locust reached"))
    # the median of four systems at 0.80 and three at 0.55 meets the goal, but not every system
    assert "reached 0.80 of wrk's requests/s" in on
    assert "the median meets the 0.6 goal; 4 of 7 systems reach it, below it: " in on
    assert "tokio 0.55 (Locust generator-bound), hyperlane 0.55, rust-std 0.55." in on
    off = next(s for s in md.splitlines() if s.startswith("- keep-alive off: Locust reached"))
    assert "the median misses the 0.6 goal; 0 of 7 systems reach it" in off
    for system, rps in wrk.items():
        fake.alter(rundir, system, "on", "locust", rps=0.7 * rps)
    assert "every system reaches the 0.6 goal." in _md(tmp_path)
    # Just below the goal is never printed as the goal itself.
    fake.alter(rundir, "gin", "on", "locust", rps=0.598 * wrk["gin"])
    on = next(s for s in _md(tmp_path).splitlines() if s.startswith("- keep-alive on: Locust"))
    assert "6 of 7 systems reach it, below it: gin 0.598." in on and "gin 0.60" not in on
