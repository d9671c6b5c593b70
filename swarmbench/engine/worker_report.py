"""The message a worker sends the master with its report: defined once, for both sides.

A worker's report is Locust's "stats" message; swarmbench adds its part under REPORT_KEY in the
same data (report_payload builds it, on a real worker in engine.hooks and on a simulated one in
workersim). The master takes it back out with read_report. FREEZE_MESSAGE is the master's
request for a final report: the worker stops its users, then reports at once, with final set.

What travels, per request name (Locust's (method, name) pair, as in its stats table) that saw
requests since the previous report: the interval's histogram delta (LatencyHistogram.
encode_delta), its requests and its failures. The run's total histogram is the merge of the
names' histograms, so the master builds it when it is read rather than merging every delta
twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from swarmbench.engine.latency import LatencyHistogram

#: The master's message asking each worker to stop its users and send its final report now.
FREEZE_MESSAGE = "swarmbench_freeze"
#: Where swarmbench's part sits in the data of Locust's report_to_master / worker_report events.
REPORT_KEY = "swarmbench"

#: A request name: Locust's (method, name) pair, e.g. ("GET", "/cart").
NameKey = tuple[str, str]
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


def report_payload(
    names: Mapping[NameKey, NameTally],
    failures: Mapping[str, int],
    cpu_s: float,
    wall_s: float,
    *,
    final: bool,
) -> dict[str, Any]:
    """swarmbench's part of one worker report, to put in its data under REPORT_KEY.

    Names without requests in the interval are left out; each name travels as a short list
    [method, name, histogram delta, requests, failures] (msgpack packs lists tighter than maps).
    """
    entries = [
        [method, name, tally.latency.encode_delta(), tally.requests, tally.failures]
        for (method, name), tally in names.items()
        if tally.requests
    ]
    return {
        "cpu_seconds": cpu_s,
        "wall_seconds": wall_s,
        "names": entries,
        "requests": sum(entry[3] for entry in entries),
        "failures": dict(failures),
        "final": final,
    }


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
