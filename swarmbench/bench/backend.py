"""Where a bench's cells run: the seam between the shared cell logic and the machines.

A backend starts a system's target and says how to measure it, runs a generator, and offers
the Prometheus that saw the run. Everything above it (matrix, verify, warm-up, verdicts,
results, report) is the same for this machine (LocalBackend, here) and for an Ansible cluster
(swarmbench.bench.cluster_backend.ClusterBackend).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil

from swarmbench.bench import local_locust
from swarmbench.bench.matrix import BenchConfig
from swarmbench.bench.services import BenchServices, started_services
from swarmbench.collectors.target import TargetNotFound, by_listen_port, by_pidfile
from swarmbench.errors import UsageError
from swarmbench.generators.locust import Locust
from swarmbench.generators.runner import by_name, require_tool, run_local
from swarmbench.generators.spec import Generator, GeneratorRun, LoadSpec
from swarmbench.targets import process
from swarmbench.targets.registry import Target
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
    #: several systems' servers may run at once (else switching stops the previous one)
    concurrent_targets: bool
    #: rounds interleave across systems (else one system's rounds run back to back)
    interleave: bool

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
class ExternalTarget:
    """A server that was running before the bench (a `url` entry): loaded and watched only."""

    target: Target
    process: psutil.Process

    @property
    def url(self) -> str:
        assert self.target.url is not None
        return self.target.url

    def alive(self) -> bool:
        return self.process.is_running()

    def usage(self) -> TreeSampler:
        return TreeSampler(self.process.pid).start()


def find_external(target: Target) -> psutil.Process:
    """The process an external entry names (its pidfile, else the listener on its URL's port)."""
    port = target.listen_port
    assert port is not None
    finder = by_pidfile(target.pidfile) if target.pidfile else by_listen_port(port)
    try:
        found = finder()
    except (TargetNotFound, psutil.Error) as exc:
        raise UsageError(f"{target.name} ({target.url}): {exc}") from None
    if found is None:
        raise UsageError(f"{target.name} ({target.url}): no process to watch")
    return found


@dataclass
class LocalBackend:
    """Targets pinned to this machine's target cores, generators on the others."""

    config: BenchConfig
    placement: Placement
    services: BenchServices
    targets: dict[str, Target]
    #: the run's one Locust in web mode (bench.local_locust), None for --workers N > 1
    locust: local_locust.WebLocust | None = None
    #: every system's server may stay up at once (idle ones cost nothing), so rounds
    #: interleave across systems
    concurrent_targets = True
    interleave = True

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
    def target(self, system: str) -> Iterator[LocalTarget | ExternalTarget]:
        """The system's server, its collector running beside it until the server is let go."""
        target = self.targets[system]
        self.services.collect(system)
        try:
            if target.external:
                yield ExternalTarget(target, find_external(target))
                return
            threads = self.config.target_threads or len(self.placement.target)
            port = self.services.target_ports[system]
            host, cpus = self.config.target_host, self.placement.target
            with process.started(target, port, threads, host=host, cpus=cpus) as srv:
                yield LocalTarget(srv)
        finally:
            self.services.stop_collector(system)

    def run_generator(self, generator: Generator, spec: LoadSpec, workdir: Path) -> GeneratorRun:
        if self.locust is not None and isinstance(generator, Locust) and spec.workers == 1:
            return self.locust.run(generator, spec, workdir)
        return run_local(generator, spec, workdir)

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "local",
            "locust": "web mode, one run per round" if self.locust else None,
        }


def local(placement: Placement) -> Callable[[BenchConfig, Path], AbstractContextManager[Backend]]:
    """An opener of this machine's backend, with the target and generators on `placement`."""

    @contextmanager
    def open_local(config: BenchConfig, rundir: Path) -> Iterator[Backend]:
        """Its tools checked, Prometheus and the collectors running."""
        for generator in {by_name(name) for name in config.generators}:
            require_tool(generator)
        os.sched_setaffinity(0, placement.generator)  # children (Prometheus, collector) inherit
        targets = config.targets()
        with started_services(rundir, targets, config.run_id) as services, ExitStack() as stack:
            web = None
            if "locust" in config.generators and config.workers == 1:
                bind = services.locust_bind
                locust = config.generator("locust")
                assert isinstance(locust, Locust)
                web = stack.enter_context(local_locust.started(rundir / "work", bind, locust))
            yield LocalBackend(config, placement, services, targets, web)

    return open_local
