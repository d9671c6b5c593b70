"""The target-process collector: one server's process tree as Prometheus metrics.

Everything is read at scrape time. The server is found through an injected `finder` (by PID,
pidfile or listening port) and re-found whenever it goes away, so a restarted server is picked
up by the next scrape. Nothing is registered at import: the caller registers an instance on the
registry it serves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from swarmbench.telemetry import metrics
from swarmbench.telemetry.process_tree import TreeReading, read_tree

log = logging.getLogger(__name__)

#: Returns the server's root process, or None when nothing is there (a message says why).
Finder = Callable[[], "psutil.Process | None"]


class TargetNotFound(LookupError):
    """The finder found nothing; the message is for the operator."""


def by_pid(pid: int) -> Finder:
    def find() -> psutil.Process | None:
        try:
            return psutil.Process(pid)
        except psutil.NoSuchProcess:
            raise TargetNotFound(f"no process with pid {pid}") from None

    return find


def by_pidfile(path: Path) -> Finder:
    def find() -> psutil.Process | None:
        try:
            text = path.read_text().strip()
        except OSError as exc:
            raise TargetNotFound(f"cannot read pidfile {path}: {exc.strerror}") from None
        if not text.isdigit():
            raise TargetNotFound(f"pidfile {path} does not hold a pid: {text[:40]!r}")
        return by_pid(int(text))()

    return find


def by_listen_port(port: int) -> Finder:
    """The process listening on TCP `port` (any address); only our own processes without root."""

    def find() -> psutil.Process | None:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid is None:
                    raise TargetNotFound(
                        f"port {port} is held by a process this user cannot see (run as its user)"
                    )
                return psutil.Process(conn.pid)
        raise TargetNotFound(f"nothing listens on TCP port {port}")

    return find


#: Gauges exported while the server is up: name, HELP, TreeReading field.
_GAUGES = (
    (
        metrics.TARGET_RSS_BYTES,
        "Resident memory summed over the tree, in bytes.",
        "rss_bytes",
    ),
    (metrics.TARGET_THREADS, "OS threads in the server's process tree.", "threads"),
    (metrics.TARGET_OPEN_FDS, "Open file descriptors in the server's process tree.", "fds"),
    (
        metrics.TARGET_PROCESSES,
        "Processes in the server's tree, itself included.",
        "processes",
    ),
)


class TargetCollector(Collector):
    """Exports swarmbench_target_* for one server's whole process tree, labelled system/host."""

    def __init__(self, system: str, host: str, finder: Finder) -> None:
        self.system = system
        self.host = host
        self._find = finder
        self._lock = threading.Lock()  # scrapes may overlap; the counter state is shared
        self._root: psutil.Process | None = None
        self._errors = 0
        # CPU of earlier server processes, so the counter never goes down across restarts.
        self._cpu_base = 0.0
        self._cpu_last = 0.0
        self._down_reason: str | None = None

    @property
    def down_reason(self) -> str | None:
        """Why the target is down, or None when it was found at the last scrape."""
        return self._down_reason

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            reading = self._read()
            cpu_total = self._cpu_base + self._cpu_last
            errors = self._errors
        labels = [self.system, self.host]
        names = ["system", "host"]

        up = GaugeMetricFamily(
            metrics.TARGET_UP, "1 if the target server was found at this scrape.", labels=names
        )
        up.add_metric(labels, 1.0 if reading else 0.0)
        yield up
        cpu = CounterMetricFamily(
            metrics.TARGET_CPU_SECONDS,
            "CPU time (user + system) of the server's process tree, in seconds.",
            labels=names,
        )
        cpu.add_metric(labels, cpu_total)
        yield cpu
        err = CounterMetricFamily(
            metrics.COLLECTOR_ERRORS,
            "Reads of the server's process that failed (other than the server being gone).",
            labels=names,
        )
        err.add_metric(labels, float(errors))
        yield err
        if reading is None:
            return
        for name, doc, field in _GAUGES:
            gauge = GaugeMetricFamily(name, doc, labels=names)
            gauge.add_metric(labels, float(getattr(reading, field)))
            yield gauge

    def _read(self) -> TreeReading | None:
        """Read the tree; on a vanished server re-find it once within the same scrape."""
        for _attempt in range(2):
            root = self._root if self._root is not None else self._resolve()
            if root is None:
                return None
            try:
                reading = read_tree(root)
            except psutil.NoSuchProcess:
                self._lost(f"pid {root.pid} exited")
                continue
            except (psutil.AccessDenied, OSError) as exc:
                self._errors += 1
                log.warning("reading pid %s failed: %s", root.pid, exc)
                return None
            # A child that exits before its parent reaps it can take its CPU with it; never
            # let the exported counter go down because of that.
            self._cpu_last = max(reading.cpu_seconds, self._cpu_last)
            self._errors += reading.errors
            return reading
        return None

    def _resolve(self) -> psutil.Process | None:
        try:
            root = self._find()
        except TargetNotFound as exc:
            if self._down_reason != str(exc):
                log.warning("%s target down: %s; still serving, will pick it up", self.system, exc)
            self._down_reason = str(exc)
            return None
        except (psutil.Error, OSError) as exc:
            self._errors += 1
            self._down_reason = f"finding the server failed: {exc}"
            log.warning("%s: %s", self.system, self._down_reason)
            return None
        if root is None:
            self._down_reason = "not found"
            return None
        if self._down_reason is not None or self._root is None:
            log.info("%s target found: pid %s", self.system, root.pid)
        self._down_reason = None
        self._root = root
        return root

    def _lost(self, why: str) -> None:
        log.warning("%s target down: %s", self.system, why)
        self._down_reason = why
        self._root = None
        self._cpu_base += self._cpu_last
        self._cpu_last = 0.0
