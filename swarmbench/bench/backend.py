"""Where a bench's cells run: the seam between the shared cell logic and the machines.

A backend starts a system's target and says how to measure it, runs a generator, and offers
the Prometheus that saw the run. Everything above it (matrix, verify, warm-up, verdicts,
results, report) is the same for this machine (LocalBackend, here) and for an Ansible cluster
(swarmbench.bench.cluster_backend.ClusterBackend).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from swarmbench.bench.matrix import BenchConfig
from swarmbench.bench.services import BenchServices, started_services
from swarmbench.generators.runner import by_name, require_tool, run_local
from swarmbench.generators.spec import Generator, GeneratorRun, LoadSpec
from swarmbench.targets import process, registry
from swarmbench.telemetry.prometheus import PrometheusAPI
from swarmbench.telemetry.sampler import TreeSampler, TreeUsage
from swarmbench.util.pinning import Placement


class UsageMeter(Protocol):
    """Measures the target from start to `stop()`: CPU, peaks, and whether it stayed up."""

    def stop(self) -> TreeUsage: ...


class TargetHandle(Protocol):
    @property
    def url(self) -> str: ...

    def alive(self) -> bool: ...

    def usage(self) -> UsageMeter:
        """Start measuring the target now."""


class Backend(Protocol):
    @property
    def locust_bind(self) -> str:
        """Where a local Locust master serves its metrics ('' where the cluster fixed it)."""

    @property
    def prometheus(self) -> PrometheusAPI | None: ...

    def prometheus_down(self) -> str | None:
        """Why Prometheus' figures are missing for the whole run, or None when it is there."""

    def target(self, system: str) -> AbstractContextManager[TargetHandle]:
        """The system's server, running and listening, for one cell."""

    def run_generator(self, generator: Generator, spec: LoadSpec, workdir: Path) -> GeneratorRun:
        """One generator run against spec.url; RuntimeError when it gives no result."""

    def describe(self) -> dict[str, Any]:
        """What run.json records about where the run ran."""


@dataclass
class LocalTarget:
    server: process.RunningTarget

    @property
    def url(self) -> str:
        return self.server.url

    def alive(self) -> bool:
        return self.server.proc.poll() is None

    def usage(self) -> TreeSampler:
        return TreeSampler(self.server.proc.pid).start()


@dataclass
class LocalBackend:
    """Targets pinned to this machine's target cores, generators on the others."""

    config: BenchConfig
    placement: Placement
    services: BenchServices

    @property
    def locust_bind(self) -> str:
        return self.services.locust_bind

    @property
    def prometheus(self) -> PrometheusAPI | None:
        return self.services.prometheus

    def prometheus_down(self) -> str | None:
        prom = self.services.prometheus
        if prom is None:
            return self.services.prometheus_note
        if prom.proc is not None and prom.proc.poll() is not None:
            return f"Prometheus exited during the run (exit code {prom.proc.returncode})"
        return None

    @contextmanager
    def target(self, system: str) -> Iterator[LocalTarget]:
        threads = self.config.target_threads or len(self.placement.target)
        port = self.services.target_ports[system]
        host, cpus = self.config.target_host, self.placement.target
        self.services.collect(system)
        with process.started(registry.get(system), port, threads, host=host, cpus=cpus) as srv:
            yield LocalTarget(srv)

    def run_generator(self, generator: Generator, spec: LoadSpec, workdir: Path) -> GeneratorRun:
        return run_local(generator, spec, workdir)

    def describe(self) -> dict[str, Any]:
        return {"backend": "local"}


def local(placement: Placement) -> Callable[[BenchConfig, Path], AbstractContextManager[Backend]]:
    """An opener of this machine's backend, with the target and generators on `placement`."""

    @contextmanager
    def open_local(config: BenchConfig, rundir: Path) -> Iterator[Backend]:
        """Its tools checked, Prometheus and the collectors running."""
        for generator in {by_name(name) for name in config.generators}:
            require_tool(generator)
        os.sched_setaffinity(0, placement.generator)  # children (Prometheus, collector) inherit
        with started_services(rundir, config.systems, config.run_id) as services:
            yield LocalBackend(config, placement, services)

    return open_local
