"""The answers of a report: the claims table's verdicts and the same-traffic table.

The fake run's tables differ from each other on purpose (keep-alive off is not a fixed share of
on, each generator has its own share, node-std beats rust-std without keep-alive, gin beats
go-std under ab), so a min/max, ratio or ordering mistake changes a verdict below.
"""

from __future__ import annotations

from pathlib import Path

from fakes import rundir as fake

from swarmbench.report import claims, model, writer
from swarmbench.results import RunDir


def _claims(path: Path) -> dict[str, claims.Claim]:
    return {c.claim: c for c in claims.claims(model.load(RunDir(path)))}


def test_rankings_get_verdicts_from_intervals(tmp_path: Path) -> None:
    fake.build(tmp_path, generators=("wrk", "ab"))
    found = _claims(tmp_path)
    wrk_on = found["Ranking by requests/s, wrk, keep-alive on"]
    assert wrk_on.verdict == claims.REPRODUCED
    assert wrk_on.reason.startswith("21 of 21 pairs distinguishably in the published order")
    assert wrk_on.measured.startswith("tokio 50k > hyperlane 48k > rocket 42k")
    wrk_off = found["Ranking by requests/s, wrk, keep-alive off"]
    assert wrk_off.verdict == claims.REFUTED
    assert "1 of 21 pairs distinguishably reversed: node-std above rust-std" in wrk_off.reason
    ab_on = found["Ranking by requests/s, ab, keep-alive on"]
    assert ab_on.verdict == claims.REFUTED and "gin above go-std" in ab_on.reason
    ab_off = found["Ranking by requests/s, ab, keep-alive off"]
    assert "hyperlane above tokio" in ab_off.reason


def test_overlapping_intervals_make_a_ranking_untestable_not_refuted(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, systems=("tokio", "hyperlane"), generators=("wrk",))
    # hyperlane's rounds reach above tokio's: indistinguishable in this run
    fake.alter(rundir, "hyperlane", "on", "wrk", intervals={"rps": [40_000.0, 55_000.0]})
    found = _claims(tmp_path)["Ranking by requests/s, wrk, keep-alive on"]
    assert found.verdict == claims.NOT_TESTABLE
    assert "only 0 of 1 pairs distinguishable" in found.reason
    md = (writer.write(tmp_path)[0]).read_text()
    assert "| 1= | tokio |" in md and "| 1= | hyperlane |" in md


def test_a_lower_bound_settles_only_the_pairs_it_clears(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, systems=("tokio", "node-std"), generators=("wrk",))
    # node-std's figure is a lower bound above tokio's interval: node-std is faster for sure
    fake.alter(rundir, "node-std", "on", "wrk", rps=60_000.0, generator_bound=True,
               intervals={"rps": [59_000.0, 61_000.0]})  # fmt: skip
    found = _claims(tmp_path)["Ranking by requests/s, wrk, keep-alive on"]
    assert found.verdict == claims.REFUTED
    assert "lower bounds (generator-bound): node-std" in found.reason
    # a lower bound under the other's interval settles nothing
    fake.alter(rundir, "node-std", "on", "wrk", rps=10_000.0,
               intervals={"rps": [9_000.0, 11_000.0]})  # fmt: skip
    found = _claims(tmp_path)["Ranking by requests/s, wrk, keep-alive on"]
    assert found.verdict == claims.NOT_TESTABLE


def test_keepalive_gain_spans_min_to_max_per_generator(tmp_path: Path) -> None:
    fake.build(tmp_path, generators=("wrk", "ab"))
    wrk = _claims(tmp_path)["Keep-alive raises requests/s for every system (wrk)"]
    # published: node-std 139,412/28,286 = 4.9x to rust-std 291,218/30,142 = 9.7x
    assert wrk.published == "4.9x (node-std) to 9.7x (rust-std)"
    # measured: node-std 20,000/6,000 = 3.3x to rust-std 40,000/5,500 = 7.3x
    assert wrk.measured == "3.3x (node-std) to 7.3x (rust-std)"
    assert wrk.verdict == claims.REPRODUCED


def test_same_traffic_answers_the_cpu_claim(tmp_path: Path) -> None:
    fake.build(tmp_path, generators=("locust", "wrk"), same_traffic=True)
    found = _claims(tmp_path)["Node.js needs more CPU than Rust at the same traffic"]
    assert found.verdict == claims.REPRODUCED
    # 25% of 8,000 = 2,000 req/s: node-std 40 µs -> 8%; Rust 10 to 14 µs -> 2% to 2.8%
    assert "keep-alive on 2,000 req/s: node-std 8%, Rust 2-3% (2.9x the highest)" in found.measured
    assert "than every Rust server at all 6 steps compared (CPU %" in found.reason
    md = writer.write(tmp_path)[0].read_text()
    assert (
        md.index("## The article's claims") < md.index("## Same traffic") < md.index("## Results")
    )
    assert "| keep-alive on | 2,000 (25%) | node-std | 2,000 | 8 | 7.9 to 8.1 |" in md
    assert "| keep-alive off | 1,500 (75%) | tokio | 1,500 | 3 |" in md


def test_a_rust_server_above_node_refutes_the_cpu_claim(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, systems=("tokio", "node-std"), generators=("locust",),
                        same_traffic=True)  # fmt: skip
    fake.alter(rundir, "tokio", "on", "locust", load=50, target_cpu_percent=30.0,
               intervals={"target_cpu_percent": [29.0, 31.0]})  # fmt: skip
    found = _claims(tmp_path)["Node.js needs more CPU than Rust at the same traffic"]
    assert found.verdict == claims.REFUTED
    assert "keep-alive on at 50%" in found.reason


def test_without_same_traffic_the_cpu_claim_is_not_testable(tmp_path: Path) -> None:
    fake.build(tmp_path, generators=("wrk",))
    found = _claims(tmp_path)["Node.js needs more CPU than Rust at the same traffic"]
    assert found.verdict == claims.NOT_TESTABLE
    assert "did not run" in found.reason


def test_node_ab_failures_are_framing_when_only_the_published_server_fails(
    tmp_path: Path,
) -> None:
    systems = ("node-std", "node-std-published")
    rundir = fake.build(tmp_path, systems=("node-std",), generators=("ab",))
    published = fake.cell("node-std", "on", "ab", 99, None)
    published.system = "node-std-published"
    published.failures, published.requests = 684, 100_000
    published.failures_by_reason = {"receive": 228, "length": 228, "exception": 228}
    published.verdict = "failures: 684 of 100,684 requests failed"
    published.events = [{"generator_details": {"keepalive_requests": 0}}]
    rundir.write_cell(published)
    fake.alter(rundir, "node-std", "on", "ab",
               events=[{"generator_details": {"keepalive_requests": 90_000}}])  # fmt: skip
    found = _claims(tmp_path)["Node.js fails requests under ab keep-alive"]
    assert found.verdict == claims.REPRODUCED
    assert "framing, not capacity" in found.reason
    assert "node-std-published: 684 of 100,684 failed, 0 of 100,000" in found.measured
    md = writer.write(tmp_path)[0].read_text()
    line = next(x for x in md.splitlines() if x.startswith("- node-std-published, keep-alive on"))
    assert "684 of 100,684 requests failed (0.68%)" in line
    assert "about 228 responses lost" not in line  # a variant: its own reading
    assert "framing, not capacity" in line
    assert systems  # both servers in one run


def test_a_cell_with_failures_is_never_ok_or_missing_from_the_failures(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, systems=("node-std",), generators=("ab",))
    fake.alter(rundir, "node-std", "off", "ab", failures=684,
               failures_by_reason={"receive": 228, "length": 228, "exception": 228},
               verdict="failures: 684 of 1,000,000 requests failed")  # fmt: skip
    md = writer.write(tmp_path)[0].read_text()
    section = md.split("### Cells with failed requests\n", 1)[1].split("###", 1)[0]
    assert "node-std, keep-alive off, ab: 684 of" in section
    assert "about 228 responses lost, not 684" in section
    row = next(x for x in md.splitlines() if x.startswith("| 1 | node-std |") and "684" in x)
    assert "| ok |" not in row


def test_the_cpu_claim_names_the_steps_it_could_not_compare(tmp_path: Path) -> None:
    rundir = fake.build(tmp_path, systems=("tokio", "node-std"), generators=("locust",),
                        same_traffic=True)  # fmt: skip
    for load in (25, 50, 75):  # keep-alive off: node-std never kept the offered pace
        fake.alter(rundir, "node-std", "off", "locust", load=load, generator_bound=True)
    found = _claims(tmp_path)["Node.js needs more CPU than Rust at the same traffic"]
    assert found.verdict == claims.REPRODUCED
    assert "at all 3 steps compared (of 6: at the others a server did not keep" in found.reason
