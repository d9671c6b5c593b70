"""CPU placement: the target and the generator on separate cores of one machine."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    target: tuple[int, ...]
    generator: tuple[int, ...]

    def as_dict(self) -> dict[str, list[int]]:
        return {"target": list(self.target), "generator": list(self.generator)}


def available_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def split(target_cpus: int | None = None) -> Placement:
    """Give the target the last `target_cpus` cores (default half) and the generator the rest.

    On one core both share it, and the placement says so rather than pretending otherwise.
    """
    cpus = available_cpus()
    if len(cpus) < 2:
        return Placement(tuple(cpus), tuple(cpus))
    n = target_cpus or max(1, len(cpus) // 2)
    n = min(n, len(cpus) - 1)
    return Placement(tuple(cpus[-n:]), tuple(cpus[:-n]))


def preexec(cpus: Sequence[int]) -> Callable[[], None] | None:
    """A Popen preexec_fn pinning the child before it starts any thread."""
    pinned = list(cpus)
    if not pinned:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, pinned)

    return pin
