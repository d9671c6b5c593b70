"""The run's histograms in HdrHistogram's own file formats, for the tools that read them.

PREFIX.hlog   the interval log (HdrHistogram log format 1.3): every interval, one line per
              request name tagged METHOD:name (commas and whitespace become '_', as tags
              allow neither) and one untagged line of every name together. Values are
              microseconds; Interval_Max is in milliseconds. HdrHistogram's
              HistogramLogProcessor (-tag NAME for one name), HdrHistogramVisualizer and hdrh's
              HistogramLogReader read it.
PREFIX.hgrm   the run's percentile distribution over every name, values in milliseconds, as
              HdrHistogram's plotter (plotFiles.html) and HistogramLogProcessor print them;
              PREFIX.METHOD_name.hgrm one per request name (GET_cart for /cart, GET_root
              for /).

The interval log follows merges as they happen (RunState.interval_log): on the master each
worker report's deltas, on a standalone Locust its own reports; `write_interval` closes an
interval. A reset of Locust's stats does not cut the log: it is a time series.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.worker_report import NameKey, NameTally

LOG_FORMAT_VERSION = "1.3"
#: Microseconds per millisecond: the unit of Interval_Max and of the .hgrm values.
MS = 1000.0
_UNSAFE_IN_TAG = re.compile(r"[,\s]")
_UNSAFE_IN_FILE = re.compile(r"[^A-Za-z0-9._-]+")


def tag(key: NameKey) -> str:
    method, name = key
    return _UNSAFE_IN_TAG.sub("_", f"{method}:{name}")


def file_slug(key: NameKey) -> str:
    """METHOD_name, what a file name should not hold squeezed to '_': GET_cart, GET_root."""
    method, name = key
    slug = _UNSAFE_IN_FILE.sub("_", f"{method}_{name.strip('/') or 'root'}")
    return slug.strip("_") or "_"


class IntervalLog:
    """The .hlog of one run, written as it goes."""

    def __init__(self, path: Path, started: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.started = started
        self._last = started
        self._interval: dict[NameKey, LatencyHistogram] = {}
        self._file: TextIO = path.open("w", encoding="ascii")
        stamp = time.strftime("%a %b %d %H:%M:%S %Z %Y", time.localtime(started))
        self._file.write(
            f"#[Logged with swarmbench: microsecond values, tags METHOD:name]\n"
            f"#[Histogram log format version {LOG_FORMAT_VERSION}]\n"
            f"#[StartTime: {started:.3f} (seconds since epoch), {stamp}]\n"
            f"#[BaseTime: {started:.3f} (seconds since epoch)]\n"
            '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n'
        )
        self._file.flush()

    def add(self, key: NameKey, delta: bytes) -> None:
        """A histogram delta just merged into the run (RunState.interval_log's contract). After
        `close` it is kept and never written: a report merged after the run's end (one that
        missed the final-report wait) is not in the run's result either."""
        hist = self._interval.get(key)
        if hist is None:
            hist = self._interval[key] = LatencyHistogram()
        hist.merge_delta(delta)

    def write_interval(self, now: float) -> None:
        """Write what was merged since the last interval (nothing when nothing was) and start
        the next one at `now`. Only before `close`: the run's end stops the greenlets that
        call it (RunState.stop_greenlets) before it closes the log."""
        start, length = self._last - self.started, max(now - self._last, 0.0)
        self._last = now
        total = LatencyHistogram()
        for key in sorted(self._interval):
            hist = self._interval[key]
            if hist.count:
                self._line(hist, start, length, f"Tag={tag(key)},")
                total.merge(hist)
                hist.reset()
        if total.count:
            self._line(total, start, length, "")
        self._file.flush()

    def _line(self, hist: LatencyHistogram, start: float, length: float, prefix: str) -> None:
        max_ms = hist.max_us / MS
        self._file.write(f"{prefix}{start:.3f},{length:.3f},{max_ms:.3f},{hist.encode()}\n")

    def close(self, now: float) -> None:
        if not self._file.closed:
            self.write_interval(now)
            self._file.close()


def write_distributions(
    prefix: str, total: LatencyHistogram, names: Mapping[NameKey, NameTally]
) -> list[Path]:
    """PREFIX.hgrm for every name together, PREFIX.METHOD_name.hgrm for each; the paths."""
    paths = [_write_hgrm(Path(f"{prefix}.hgrm"), total)]
    taken: set[str] = set()
    for key in sorted(names):
        slug = file_slug(key)
        while slug in taken:  # two names squeezed alike: keep both files
            slug += "_"
        taken.add(slug)
        paths.append(_write_hgrm(Path(f"{prefix}.{slug}.hgrm"), names[key].latency))
    return paths


def _write_hgrm(path: Path, hist: LatencyHistogram) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        hist.write_percentile_distribution(out, MS)
    return path
