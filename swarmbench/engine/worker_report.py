"""The message a worker sends the master with its report: defined once, for both sides.

A worker's report is Locust's "stats" message; swarmbench adds its part under REPORT_KEY in the
same data (take_payload builds it, on a real worker through engine.recorder and on a simulated
one in workersim). The master takes it back out with read_report. FREEZE_MESSAGE is the
master's request for a final report: the worker stops its users, then reports at once, with
final set. The freeze carries the master's clock when it was sent (FREEZE_TIMESTAMP_KEY): a
Locust spawn message is dated by the same clock when the master builds it, and one the master
built before the freeze but sent after it (its sends run in greenlets of their own) must not
start users on a worker that already sent its final report; the worker discards it the way
Locust discards any spawn dated at or before the last one it took.

What travels, per request name (Locust's (method, name) pair, as in its stats table): its
requests and failures since the previous report, every report; and its histogram delta
(LatencyHistogram.encode_delta) of everything recorded since that name's histogram last
travelled, in at most HISTOGRAMS_PER_REPORT names per report (those waiting longest), and all
of them in a final report. Merging a delta is most of what a report costs the master (~50 us),
so a locustfile with many names costs it about as much per report as one with four, and a
name's percentiles on the master trail its counts by a few reports at most. The run's total
histogram is the merge of the names', built when read rather than merged twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from swarmbench.engine.latency import LatencyHistogram

#: The master's message asking each worker to stop its users and send its final report now.
FREEZE_MESSAGE = "swarmbench_freeze"
#: The freeze's data: the master's time.time() when it froze the run.
FREEZE_TIMESTAMP_KEY = "timestamp"
#: Where swarmbench's part sits in the data of Locust's report_to_master / worker_report events.
REPORT_KEY = "swarmbench"

#: A request name: Locust's (method, name) pair, e.g. ("GET", "/cart").
NameKey = tuple[str, str]
#: Histograms per report beyond which names wait for a later report (the final carries all).
HISTOGRAMS_PER_REPORT = 4
#: Distinct request names kept apart; later ones are counted together under OTHER_NAMES. Each
#: name holds a 136 KiB histogram on every worker and on the master, and a locustfile that puts
#: ids in its URLs without `name=` would otherwise grow without bound.
MAX_NAMES = 100
OTHER_NAMES: NameKey = ("*", "(other names)")


@dataclass
class NameTally:
    """One request name's count: an interval's on a worker, the run's on the master."""

    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    requests: int = 0
    failures: int = 0
    #: on a worker: reports since this name's histogram last travelled
    waiting: int = 0


def name_tally(names: dict[NameKey, NameTally], key: NameKey) -> NameTally:
    """`key`'s tally in `names`, added if new; beyond MAX_NAMES names, the OTHER_NAMES tally."""
    tally = names.get(key)
    if tally is None:
        if len(names) >= MAX_NAMES:
            key = OTHER_NAMES
            tally = names.get(key)
        if tally is None:
            tally = names[key] = NameTally()
    return tally


@dataclass(frozen=True)
class NameReport:
    """One request name's part of a worker report."""

    method: str
    name: str
    #: LatencyHistogram.encode_delta() of the interval, for LatencyHistogram.merge_delta()
    histogram: bytes
    requests: int
    failures: int


@dataclass(frozen=True)
class WorkerReport:
    """swarmbench's part of one worker report: what the worker did since its previous report."""

    names: tuple[NameReport, ...]
    #: every name's requests, failures included
    requests: int
    #: failure reason -> count, over every name
    failures: dict[str, int]
    #: the worker's CPU time and the wall time it was measured over
    cpu_seconds: float
    wall_seconds: float
    #: sent after FREEZE_MESSAGE: the worker's last report of the run
    final: bool


#: a name as a worker keys it (NameKey), or as the worker simulator does (its name alone)
Key = TypeVar("Key", str, NameKey)


def frozen_at(data: Any) -> float | None:
    """The master's time in a freeze message's data; None when the data carries none."""
    value = data.get(FREEZE_TIMESTAMP_KEY) if isinstance(data, dict) else None
    return float(value) if isinstance(value, int | float) else None


def histograms_to_send(waiting: Mapping[Key, int], *, final: bool, limit: int | None) -> set[Key]:
    """Of the names holding samples (name -> reports it has waited), those whose histograms
    travel now: all when `final` or without a limit, else the `limit` that waited longest
    (ties in name order)."""
    if final or limit is None or len(waiting) <= limit:
        return set(waiting)
    return set(sorted(waiting, key=lambda key: (-waiting[key], key))[:limit])


def payload(
    entries: list[list[Any]], failures: Mapping[str, int], cpu_s: float, wall_s: float, *,
    final: bool,
) -> dict[str, Any]:  # fmt: skip
    """The part under REPORT_KEY around its per-name entries [method, name, delta, requests,
    failures] (msgpack packs lists tighter than maps)."""
    return {
        "cpu_seconds": cpu_s,
        "wall_seconds": wall_s,
        "names": entries,
        "requests": sum(entry[3] for entry in entries),
        "failures": dict(failures),
        "final": final,
    }


def take_payload(
    names: Mapping[NameKey, NameTally],
    failures: Mapping[str, int],
    cpu_s: float,
    wall_s: float,
    *,
    final: bool,
    histograms: int | None = HISTOGRAMS_PER_REPORT,
) -> dict[str, Any]:
    """swarmbench's part of one worker report, to put in its data under REPORT_KEY; what it
    sends is taken: every name's counts restart, and so do the histograms sent. A name's
    histogram delta is b"" while it waits; `histograms`: at most this many (None: all).
    """
    waiting = {key: t.waiting for key, t in names.items() if t.latency.count}
    send = histograms_to_send(waiting, final=final, limit=histograms)
    entries = []
    for key, tally in names.items():
        sent = key in send
        if tally.requests or sent:
            delta = tally.latency.encode_delta() if sent else b""
            entries.append([key[0], key[1], delta, tally.requests, tally.failures])
        tally.requests = tally.failures = 0
        if sent:
            tally.latency.reset()
            tally.waiting = 0
        elif tally.latency.count:
            tally.waiting += 1
    return payload(entries, failures, cpu_s, wall_s, final=final)


def read_report(data: Mapping[str, Any]) -> WorkerReport | None:
    """swarmbench's part of a worker report's data, or None when it carries none."""
    payload = data.get(REPORT_KEY)
    if payload is None:
        return None
    names = tuple(
        NameReport(str(method), str(name), bytes(histogram), int(requests), int(failures))
        for method, name, histogram, requests, failures in payload["names"]
    )
    return WorkerReport(
        names=names,
        requests=int(payload["requests"]),
        failures={reason: int(count) for reason, count in payload["failures"].items()},
        cpu_seconds=float(payload["cpu_seconds"]),
        wall_seconds=float(payload["wall_seconds"]),
        final=bool(payload["final"]),
    )
