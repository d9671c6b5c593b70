"""The targets a bench keeps up between rounds: each started, verified and warmed up once.

Interleaved rounds switch system at every measurement, so restarting servers per round would
cost more than the rounds themselves and measure a cold server each time. On this machine every
system's server stays up for the whole bench (an idle server uses no CPU); on a cluster, where
one target host runs one system at a time, switching stops the previous one. A server that
exits is restarted, verified again, and its cell is told.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from swarmbench.bench.backend import Backend, TargetHandle
from swarmbench.generators.runner import by_name
from swarmbench.generators.spec import LoadSpec
from swarmbench.targets.registry import Target
from swarmbench.targets.verify import deviations, verify
from swarmbench.telemetry.metrics import SCRAPE_SETTLE_S


class TargetFailed(Exception):
    """The target could not be started, verified or warmed up; the message says which."""


@dataclass
class Running:
    handle: TargetHandle
    stack: ExitStack
    verification: list[dict[str, Any]]
    #: why every cell of this system fails (its verification), or None
    refused: str | None = None
    #: the checks it failed beyond its entry's known deviations, required or not (an optional
    #: one decides which cells make sense)
    deviating: frozenset[str] = frozenset()
    warmed: set[bool] = field(default_factory=set)
    #: when the last load on this server (a round or a warm-up) ended
    loaded_until: float = 0.0

    def wait_quiet(self) -> None:
        """Wait until a scrape has landed since the last load on this server ended.

        Prometheus reads a window's CPU at the last scrape before each edge, up to a second
        off the edge: a load that starts sooner after another on the same server puts its
        CPU in the other's reading. Interleaved rounds of two systems come back to the same
        server after one other round, which can be shorter than a scrape.
        """
        time.sleep(max(0.0, self.loaded_until + SCRAPE_SETTLE_S - time.time()))


@dataclass
class TargetPool:
    backend: Backend
    #: the run's systems as their registry files describe them (contract, known deviations)
    targets: dict[str, Target]
    warmup_s: float
    work_dir: Path
    #: False: one target at a time (a cluster's target host)
    concurrent: bool = True
    running: dict[str, Running] = field(default_factory=dict)

    def get(self, system: str, spec: LoadSpec) -> Running:
        """The system's server up, verified, and warmed up in the spec's keep-alive mode."""
        found = self.running.get(system)
        if found is not None and not found.handle.alive():
            self.release(system)
            found = None
        if found is None:
            if not self.concurrent:
                for other in list(self.running):
                    self.release(other)
            found = self._start(system)
        if found.refused:
            raise TargetFailed(found.refused)
        if spec.keepalive not in found.warmed:
            self._warm_up(system, found, spec)
        return found

    def _start(self, system: str) -> Running:
        stack = ExitStack()
        try:  # until the pool holds it, an interrupt must stop what was started here
            manager: AbstractContextManager[TargetHandle] = self.backend.target(system)
            handle = stack.enter_context(manager)
            target = self.targets[system]
            checks = verify(handle.url, target.contract)
        except BaseException:
            stack.close()
            raise
        found = deviations(checks, target.known_deviations)
        refused = f"verification ({', '.join(found.refused)})" if found.refused else None
        deviating = frozenset(c.name for c in found.beyond)
        running = Running(handle, stack, [asdict(c) for c in checks], refused, deviating)
        self.running[system] = running
        return running

    def _warm_up(self, system: str, running: Running, spec: LoadSpec) -> None:
        """The same primer for every system: wrk at the cell's concurrency and mode."""
        running.warmed.add(spec.keepalive)
        if self.warmup_s <= 0:
            return
        running.wait_quiet()
        warm = replace(
            spec, url=running.handle.url, duration_s=self.warmup_s, requests=None, rate=None
        )
        mode = "on" if spec.keepalive else "off"
        try:
            self.backend.run_generator(
                by_name("wrk"), warm, self.work_dir / f"warmup-{system}-keepalive-{mode}"
            )
        except RuntimeError as exc:
            raise TargetFailed(f"warm-up: {exc}") from None
        finally:
            running.loaded_until = time.time()

    def release(self, system: str) -> None:
        found = self.running.pop(system, None)
        if found is not None:
            found.stack.close()

    def close(self) -> None:
        for system in list(self.running):
            self.release(system)
