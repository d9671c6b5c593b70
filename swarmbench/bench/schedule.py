"""The order a bench measures in, and the same-traffic phase's rates.

Two phases. Saturation: every cell flat out, `rounds` short rounds each. Same traffic: every
system at the same fixed rates (steps in percent of a reference capacity per keep-alive mode),
Locust pacing them free of coordinated omission. Rounds are interleaved across systems
(A B C A B C, never A A A B B B), so drift on a shared machine (another job starting, the
clock changing speed) lands on every system alike instead of on whichever ran during it. A
backend whose system switch is expensive (a cluster reruns its playbook) runs system-major.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from swarmbench.results import CellKey, CellResult
from swarmbench.targets.registry import Target

#: The run's systems by name (BenchConfig.targets()): which are variants, and with what measured
Targets = Mapping[str, Target]

SATURATION = "saturation"
SAME_TRAFFIC = "same traffic"
#: The generator that paces the same-traffic phase.
PACER = "locust"
#: A generator reaching this share of its own best rate in the mode is near its limit: the
#: same-traffic reference never asks it for more than that.
PACER_HEADROOM = 0.9


@dataclass(frozen=True)
class Measurement:
    """One round of one cell."""

    key: CellKey
    phase: str
    round: int  # 0-based
    rounds: int


@dataclass(frozen=True)
class Reference:
    """What a mode's same-traffic steps are percentages of, and where it came from."""

    mode: str
    rps: float
    #: e.g. "node-std's capacity (its best median over wrk, ab, locust)"
    basis: str
    slowest_system: str | None


def systems_for(generator: str, systems: Iterable[str], targets: Targets) -> list[str]:
    """The systems a generator measures: a variant only with the generators it is kept for."""
    out = []
    for system in systems:
        target = targets.get(system)
        if target is None or not target.generators or generator in target.generators:
            out.append(system)
    return out


def saturation(
    systems: tuple[str, ...],
    modes: tuple[bool, ...],
    generators: tuple[str, ...],
    rounds: int,
    *,
    targets: Targets,
    interleave: bool = True,
) -> list[Measurement]:
    keys = [
        CellKey(system, keepalive, generator)
        for keepalive in modes
        for generator in generators
        for system in systems_for(generator, systems, targets)
    ]
    return _ordered(keys, SATURATION, rounds, interleave)


def same_traffic(
    systems: tuple[str, ...],
    modes: tuple[bool, ...],
    steps: tuple[int, ...],
    rounds: int,
    *,
    targets: Targets,
    interleave: bool = True,
) -> list[Measurement]:
    """Variants are left out: they exist to show a framing bug, not to compare CPU. A backend
    that runs one system at a time takes them in reverse order: the system the saturation phase
    ended with is still up, which saves one switch (a playbook run on a cluster)."""
    compared = [s for s in systems if not _variant(s, targets)]
    if not interleave:
        compared.reverse()
    keys = [
        CellKey(system, keepalive, PACER, step)
        for keepalive in modes
        for step in steps
        for system in compared
    ]
    return _ordered(keys, SAME_TRAFFIC, rounds, interleave)


def _variant(system: str, targets: Targets) -> bool:
    target = targets.get(system)
    return target is not None and target.variant_of is not None


def _ordered(keys: list[CellKey], phase: str, rounds: int, interleave: bool) -> list[Measurement]:
    if interleave:
        return [Measurement(k, phase, r, rounds) for r in range(rounds) for k in keys]
    by_system = sorted(keys, key=lambda k: _first_index(keys, k.system))
    return [Measurement(k, phase, r, rounds) for k in by_system for r in range(rounds)]


def _first_index(keys: list[CellKey], system: str) -> int:
    return next(i for i, k in enumerate(keys) if k.system == system)


def references(
    cells: list[CellResult], modes: tuple[bool, ...], targets: Targets
) -> dict[str, Reference]:
    """Per mode: the slowest compared system's capacity (its best median rps over the
    generators, each cell usable), capped by what the pacing generator itself reached, so the
    steps are the servers' load and never the generator's limit."""
    out: dict[str, Reference] = {}
    for keepalive in modes:
        mode = "on" if keepalive else "off"
        flat = [
            c
            for c in cells
            if c.keepalive == mode and not c.load_percent and not c.failed and c.rps
        ]
        capacity: dict[str, float] = {}
        for cell in flat:
            if _variant(cell.system, targets):
                continue
            capacity[cell.system] = max(capacity.get(cell.system, 0.0), cell.rps or 0.0)
        if not capacity:
            continue
        slowest = min(capacity, key=lambda s: capacity[s])
        pacer = max((c.rps or 0.0 for c in flat if c.generator == PACER), default=0.0)
        basis = f"{slowest}'s capacity (its best median requests/s over the generators)"
        rps = capacity[slowest]
        if pacer and PACER_HEADROOM * pacer < rps:
            rps = PACER_HEADROOM * pacer
            basis = (
                f"{PACER_HEADROOM:.0%} of the most {PACER} reached in this mode (below "
                f"{slowest}'s {capacity[slowest]:,.0f} req/s, so the generator is never the limit)"
            )
        out[mode] = Reference(mode, rps, basis, slowest)
    return out


def fixed_references(rate: float, modes: tuple[bool, ...]) -> dict[str, Reference]:
    """`--rate R`: the same-traffic phase at R itself (one step of 100%)."""
    basis = f"the fixed rate given on the command line ({rate:g} req/s)"
    modes_ = ["on" if k else "off" for k in modes]
    return {mode: Reference(mode, rate, basis, None) for mode in modes_}
