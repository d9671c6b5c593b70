"""The Locust master's metrics: load, latency and the generator's own CPU, for Prometheus.

Locust has no Prometheus endpoint. This collector reads the runner's aggregated state at scrape
time (nothing runs per request), and `start_exporter` serves it on a private registry from the
master (or a standalone Locust): totals, and the same per request name (labels method, name).
Counters only go up: when Locust resets its stats (the web UI's reset, --reset-stats after
ramp-up) or a new run starts, the values before are carried forward.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from swarmbench.errors import UsageError
from swarmbench.telemetry import metrics

log = logging.getLogger(__name__)

#: Bucket bounds in microseconds: fine from 50 us (loopback keep-alive) to 1 s.
BUCKETS_US: tuple[int, ...] = (
    *(50, 75, 100, 150, 200, 300, 500, 750),
    *(1_000, 1_500, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000, 75_000),
    *(100_000, 150_000, 200_000, 300_000, 500_000, 750_000, 1_000_000),
)
#: At quit, wait for Prometheus's next FINAL_SCRAPES scrapes (so rules see the final totals) at
#: most this long, or 2.5 observed scrape intervals if shorter.
FINAL_SCRAPE_WAIT_S = 10.0
FINAL_SCRAPES = 2
#: Locust's WorkerNode.state for a worker that stopped sending heartbeats.
_MISSING = "missing"


class LatencyHistogram(Protocol):
    """What the engine's swarmbench.engine.latency.LatencyHistogram offers this collector."""

    @property
    def count(self) -> int: ...

    @property
    def mean_us(self) -> float: ...

    def cumulative_counts(self, bounds_us: Sequence[int]) -> list[int]: ...


class NamedCounts(Protocol):
    """One request name's counts (the engine's swarmbench.engine.worker_report.NameTally)."""

    latency: LatencyHistogram
    requests: int
    failures: int


#: (method, name) -> that name's counts over the run
NamesSource = Callable[[], Mapping[tuple[str, str], NamedCounts]]


class _Monotonic:
    """Carries values forward across resets so an exported counter never goes down."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._base: dict[str, float] = {}

    def __call__(self, key: str, value: float) -> float:
        if value < self._last.get(key, 0.0):
            self._base[key] = self._base.get(key, 0.0) + self._last[key]
        self._last[key] = value
        return self._base.get(key, 0.0) + value


class MasterCollector(Collector):
    """swarmbench_requests_total, _request_failures_total, _request_duration_seconds, users,
    workers, worker CPU and run info, from a Locust Environment."""

    def __init__(
        self,
        environment: Any,
        latency: Callable[[], LatencyHistogram | None],
        names: NamesSource = dict,
    ) -> None:
        self.environment = environment
        self._latency = latency
        self._names = names
        self._mono = _Monotonic()
        #: Monotonic times of the last two scrapes and their count, for the wait at quit.
        self.scraped_at: list[float] = []
        self.scrapes = 0

    def collect(self) -> Iterator[Metric]:
        self.scraped_at = [*self.scraped_at[-1:], time.monotonic()]
        self.scrapes += 1
        runner = getattr(self.environment, "runner", None)
        yield self._run_info()
        if runner is None:
            return
        total = runner.stats.total
        requests = CounterMetricFamily(
            metrics.REQUESTS, "Requests completed (successes and failures)."
        )
        requests.add_metric([], self._mono("requests", float(total.num_requests)))
        yield requests
        yield self._failures(runner)
        histogram = self._histogram()
        if histogram is not None:
            yield histogram
        yield from self._by_name()
        users = GaugeMetricFamily(metrics.USERS, "Simulated users running.")
        users.add_metric([], float(runner.user_count))
        yield users
        yield from self._workers(runner)

    def _run_info(self) -> Metric:
        opts = getattr(self.environment, "parsed_options", None)
        classes = getattr(self.environment, "user_classes", None) or []
        names = {cls.__name__ for cls in classes}
        keepalive = "off" if names == {"CloseUser"} else "on" if names == {"KeepAliveUser"} else ""
        info = InfoMetricFamily(metrics.RUN, "The run this Locust serves; value always 1.")
        info.add_metric(
            [],
            {
                "run": str(getattr(opts, "run_id", "") or ""),
                "system": str(getattr(opts, "system", "") or ""),
                "keepalive": keepalive,
            },
        )
        return info

    def _failures(self, runner: Any) -> Metric:
        """Failures by reason; Locust's error table is per (method, name, error)."""
        by_reason = dict.fromkeys(metrics.FAILURE_REASONS, 0)
        for error in list(runner.stats.errors.values()):
            reason = metrics.failure_reason(str(error.error))
            by_reason[reason] += int(error.occurrences)
        # Failures Locust counted without an error entry (none expected) land in "other".
        known = sum(by_reason.values())
        by_reason["other"] += max(int(runner.stats.total.num_failures) - known, 0)
        family = CounterMetricFamily(
            metrics.REQUEST_FAILURES,
            "Requests that failed, by swarmbench's fixed reason.",
            labels=["reason"],
        )
        for reason, count in by_reason.items():
            family.add_metric([reason], self._mono(f"fail:{reason}", float(count)))
        return family

    def _histogram(self) -> Metric | None:
        hist = self._latency()
        if hist is None:
            return None
        family = HistogramMetricFamily(
            metrics.REQUEST_DURATION_SECONDS,
            "Request latency from the load generator's view, in seconds.",
        )
        buckets, total_s = self._buckets("", hist)
        family.add_metric([], buckets, total_s)
        return family

    def _buckets(self, key: str, hist: LatencyHistogram) -> tuple[list[tuple[str, float]], float]:
        """A histogram's cumulative buckets and sum in seconds, carried across resets."""
        cumulative = hist.cumulative_counts(BUCKETS_US)
        count = int(hist.count)
        buckets = [
            (_le(bound), self._mono(f"{key}le:{bound}", float(n)))
            for bound, n in zip(BUCKETS_US, cumulative, strict=True)
        ]
        buckets.append(("+Inf", self._mono(f"{key}le:+Inf", float(count))))
        total_s = self._mono(f"{key}sum", float(hist.mean_us) * count / 1e6 if count else 0.0)
        return buckets, total_s

    def _by_name(self) -> Iterator[Metric]:
        labels = ["method", "name"]
        requests = CounterMetricFamily(
            metrics.NAMED_REQUESTS, "Requests completed per request name.", labels=labels
        )
        failures = CounterMetricFamily(
            metrics.NAMED_REQUEST_FAILURES, "Requests failed per request name.", labels=labels
        )
        durations = HistogramMetricFamily(
            metrics.NAMED_REQUEST_DURATION_SECONDS,
            "Request latency per request name from the load generator's view, in seconds.",
            labels=labels,
        )
        for (method, name), counts in sorted(self._names().items()):
            key = f"{method} {name}\0"
            requests.add_metric([method, name], self._mono(f"{key}requests", counts.requests))
            failures.add_metric([method, name], self._mono(f"{key}failures", counts.failures))
            buckets, total_s = self._buckets(key, counts.latency)
            durations.add_metric([method, name], buckets, total_s)
        yield requests
        yield failures
        yield durations

    def _workers(self, runner: Any) -> Iterator[Metric]:
        clients = getattr(runner, "clients", None)
        cpu = GaugeMetricFamily(
            metrics.WORKER_CPU_RATIO,
            "CPU of each load-generating process as reported to the master, 1.0 = one core.",
            labels=["worker"],
        )
        if clients is None:  # standalone Locust: this process is the one worker
            count = 1
            cpu.add_metric(["local"], float(getattr(runner, "current_cpu_usage", 0.0)) / 100)
        else:
            count = int(runner.worker_count)
            for node in list(clients.values()):
                if node.state != _MISSING:
                    cpu.add_metric([_worker_label(runner, str(node.id))], node.cpu_usage / 100)
        workers = GaugeMetricFamily(metrics.WORKERS, "Workers connected to the master.")
        workers.add_metric([], float(count))
        yield workers
        yield cpu


def _worker_label(runner: Any, node_id: str) -> str:
    """HOST-INDEX: Locust's ids end in a fresh uuid each run; the index is stable per master."""
    host = node_id.rsplit("_", 1)[0]
    index = runner.get_worker_index(node_id) if hasattr(runner, "get_worker_index") else None
    return f"{host}-{index}" if index is not None else node_id


def _le(bound_us: int) -> str:
    return repr(bound_us / 1e6)


def start_exporter(
    environment: Any,
    host: str,
    port: int,
    latency: Callable[[], LatencyHistogram | None],
    names: NamesSource = dict,
) -> None:
    """Serve /metrics for this Locust on host:port from a gevent server (Locust runs gevent).

    Stops when Locust quits. A port already in use is a UsageError naming the option to change.
    """
    from gevent.pywsgi import WSGIServer

    registry = CollectorRegistry(auto_describe=False)
    collector = MasterCollector(environment, latency, names)
    registry.register(collector)
    server = WSGIServer((host, port), make_wsgi_app(registry), log=None, error_log=log)
    try:
        server.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(
                f"cannot serve metrics on {host}:{port}: the port is in use; "
                "choose another with --metrics-bind ADDR:PORT"
            ) from None
        raise UsageError(f"cannot serve metrics on {host}:{port}: {exc.strerror}") from None
    log.info("serving Prometheus metrics on http://%s:%s/metrics", host, port)

    def stop(**_kwargs: object) -> None:
        _await_final_scrape(collector)
        server.stop(timeout=1)

    environment.events.quitting.add_listener(stop)


def _await_final_scrape(collector: MasterCollector) -> None:
    """Let a scraping Prometheus read the final totals twice before this process exits.

    Headless Locust quits right after the last worker report; without this the last scrape may
    predate it and Prometheus would miss the run's final seconds. Twice: a rate() recording rule
    needs two samples in one evaluation, and with scrapes and evaluations one interval apart a
    short run's last two samples can fall either side of an evaluation, leaving its panels
    empty. No scrape yet: no wait.
    """
    import gevent

    if not collector.scraped_at:
        return
    quit_at = time.monotonic()
    wait = FINAL_SCRAPE_WAIT_S
    if len(collector.scraped_at) == 2:
        interval = collector.scraped_at[1] - collector.scraped_at[0]
        wait = min(wait, max(2.5 * interval, 1.0))
    deadline = quit_at + wait
    wanted = collector.scrapes + FINAL_SCRAPES
    while collector.scrapes < wanted and time.monotonic() < deadline:
        gevent.sleep(0.05)
