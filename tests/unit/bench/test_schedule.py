"""The order a bench measures in, and the same-traffic phase's reference rates."""

from __future__ import annotations

from swarmbench.bench import schedule
from swarmbench.results import CellResult
from swarmbench.targets import registry

TARGETS = registry.load()


def test_rounds_interleave_across_systems() -> None:
    plan = schedule.saturation(
        ("tokio", "node-std"), (True,), ("wrk",), 3, targets=TARGETS, interleave=True
    )
    assert [(m.key.system, m.round) for m in plan] == [
        ("tokio", 0), ("node-std", 0), ("tokio", 1), ("node-std", 1), ("tokio", 2), ("node-std", 2),
    ]  # fmt: skip
    assert all(m.rounds == 3 and m.phase == schedule.SATURATION for m in plan)


def test_a_cluster_runs_one_system_at_a_time() -> None:
    plan = schedule.saturation(
        ("tokio", "node-std"), (True,), ("wrk",), 2, targets=TARGETS, interleave=False
    )
    assert [m.key.system for m in plan] == ["tokio", "tokio", "node-std", "node-std"]
    # the same traffic starts with the system still up: one switch fewer
    same = schedule.same_traffic(("tokio", "node-std"), (True,), (50,), 1, targets=TARGETS,
                                 interleave=False)  # fmt: skip
    assert [m.key.system for m in same] == ["node-std", "tokio"]


def test_a_variant_runs_only_with_its_generators_and_not_at_the_same_traffic() -> None:
    systems = ("node-std", "node-std-published")
    plan = schedule.saturation(systems, (True,), ("locust", "wrk", "ab"), 1, targets=TARGETS)
    measured = {(m.key.system, m.key.generator) for m in plan}
    assert ("node-std-published", "locust") not in measured
    assert {("node-std-published", "wrk"), ("node-std-published", "ab")} <= measured
    same = schedule.same_traffic(systems, (True, False), (25, 75), 2, targets=TARGETS)
    assert {m.key.system for m in same} == {"node-std"}
    assert {m.key.load for m in same} == {25, 75}
    assert len(same) == 2 * 2 * 2  # modes x steps x rounds


def _cell(system: str, generator: str, rps: float, verdict: str = "ok") -> CellResult:
    return CellResult(system, "on", generator, verdict=verdict, rps=rps)


def test_reference_is_the_slowest_systems_best_figure() -> None:
    cells = [
        _cell("tokio", "wrk", 90_000),
        _cell("tokio", "locust", 30_000),
        _cell("node-std", "wrk", 20_000),  # node-std's best: the reference
        _cell("node-std", "ab", 12_000),
        _cell("node-std", "locust", 25_000, verdict="failed: refused"),  # left out
        _cell("node-std-published", "wrk", 5_000),  # a variant: never the reference
    ]
    ref = schedule.references(cells, (True,), TARGETS)["on"]
    assert ref.slowest_system == "node-std"
    assert ref.rps == 20_000
    assert "node-std's capacity" in ref.basis


def test_reference_never_asks_the_pacer_for_more_than_it_reached() -> None:
    cells = [_cell("tokio", "wrk", 90_000), _cell("tokio", "locust", 10_000)]
    cells += [_cell("node-std", "wrk", 40_000), _cell("node-std", "locust", 8_000)]
    ref = schedule.references(cells, (True, False), TARGETS)
    assert set(ref) == {"on"}  # nothing measured with keep-alive off: no steps there
    assert ref["on"].rps == schedule.PACER_HEADROOM * 10_000
    assert "locust reached" in ref["on"].basis
