"""Where a bench's cells run: the seam between the shared cell logic and the machines.

A backend starts a system's target and says how to measure it, runs a generator, and offers
the Prometheus that saw the run. Everything above it (matrix, verify, warm-up, verdicts,
results, report) is the same for this machine (LocalBackend, here) and for an Ansible cluster
(swarmbench.bench_cluster.ClusterBackend).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from swarmbench import bench_services, generators, registry, targetproc
from swarmbench.bench_services import BenchServices
from swarmbench.matrix import BenchConfig
from swarmbench.pinning import Placement
from swarmbench.prometheus import PrometheusAPI
from swarmbench.sampler import TreeSampler, TreeUsage


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

    def run_generator(
        self, generator: generators.Generator, spec: generators.LoadSpec, workdir: Path
    ) -> generators.GeneratorRun:
        """One generator run against spec.url; RuntimeError when it gives no result."""

    def describe(self) -> dict[str, Any]:
        """What run.json records about where the run ran."""


@dataclass
class LocalTarget:
    server: targetproc.RunningTarget

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
        with targetproc.started(registry.get(system), port, threads, host=host, cpus=cpus) as srv:
            yield LocalTarget(srv)

    def run_generator(
        self, generator: generators.Generator, spec: generators.LoadSpec, workdir: Path
    ) -> generators.GeneratorRun:
        return generators.run(generator, spec, workdir)

    def describe(self) -> dict[str, Any]:
        return {"backend": "local"}


@contextmanager
def local(config: BenchConfig, placement: Placement, rundir: Path) -> Iterator[Backend]:
    """This machine's backend: its tools checked, Prometheus and collectors running."""
    for generator in {generators.get(name) for name in config.generators}:
        generators.require_tool(generator)
    os.sched_setaffinity(0, placement.generator)  # children (Prometheus, collector) inherit
    with bench_services.started(rundir, config.systems, config.run_id) as services:
        yield LocalBackend(config, placement, services)
