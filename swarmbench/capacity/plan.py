"""Cluster sizing: how many worker cores and hosts a target request rate needs.

A load generator saturated on its core is measuring itself, not the server, so each worker core
is planned at most CPU_CEILING busy: cores = ceil(rate / (requests per core-second * ceiling)).
Requests per core-second come from `swarmbench generator-bench --out FILE` on the machines the
workers will run on, or from DEFAULT_PER_CORE, measured here under DEFAULT_CONDITIONS. Locust
runs one worker process per core and one master for all of them; what one master core holds
comes from `swarmbench master-bench --out FILE`, or DEFAULT_MASTER.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmbench.errors import UsageError

CPU_CEILING = 0.70
#: No figure in a results file is this large (requests/s per core, workers, percent).
MAX_FIGURE = 1e9
MODES = ("keepalive", "close")

#: Requests per generator-core-second, 1e6 / CPU microseconds per request, measured under
#: DEFAULT_CONDITIONS (wrk 4.1; Locust's HttpUser and FastHttpUser; "swarmbench" is this
#: project's raw-socket user with its stats batched). Medians of 5 interleaved 10 s runs.
DEFAULT_PER_CORE: dict[tuple[str, str], float] = {
    ("swarmbench", "keepalive"): 1e6 / 21,
    ("swarmbench", "close"): 1e6 / 142,
    ("fasthttp", "keepalive"): 1e6 / 112,
    ("fasthttp", "close"): 1e6 / 260,
    ("http", "keepalive"): 1e6 / 507,
    ("http", "close"): 1e6 / 650,
    ("wrk", "keepalive"): 1e6 / 8.6,
    ("wrk", "close"): 1e6 / 52,
}
DEFAULT_CONDITIONS = (
    "defaults measured on a 2-core VM: generator and nginx each pinned to one core, "
    "64 connections, 10 s runs, medians of 5; locust 2.47.0, gevent 26.9.0, Python 3.11.7"
)


@dataclass(frozen=True)
class MasterCapacity:
    """Workers one master core held with none missing and exact totals, and at what cost."""

    workers: int
    cpu_percent: float
    source: str


#: From `swarmbench master-bench --workers 100,250,500,1000,2000` (40 s each) on the same VM:
#: master pinned to one core, simulated workers on the other, Locust's default intervals.
#: 1,000 held at 31.3% of the core (0.31 ms CPU per worker-second, so a dedicated core should
#: hold ~2,900 at 90%: a projection); 2,000 was not held there while other processes took
#: 67-89% of the master's core.
DEFAULT_MASTER = MasterCapacity(
    workers=1000,
    cpu_percent=31.3,
    source="master-bench on a 2-core shared VM: 1,000 workers held at 31% of one core "
    "(Locust 2.47.0, default 1 s heartbeats and 3 s reports)",
)


@dataclass(frozen=True)
class Plan:
    target_rps: float
    generator: str
    mode: str
    per_core: float
    worker_cores: int
    cores_per_host: int
    hosts: int
    cpu_percent: float
    master: MasterCapacity
    source: str

    @property
    def master_holds(self) -> bool:
        return self.worker_cores <= self.master.workers


def make_plan(
    target_rps: float,
    mode: str,
    per_core: float,
    *,
    generator: str,
    cores_per_host: int,
    master: MasterCapacity,
    source: str,
) -> Plan:
    """One worker per core; enough cores that none runs above CPU_CEILING of its core."""
    if per_core <= 0:
        raise UsageError(f"{generator} {mode}: no requests per core-second to plan from")
    cores = max(1, math.ceil(target_rps / (per_core * CPU_CEILING) - 1e-9))
    return Plan(
        target_rps=target_rps,
        generator=generator,
        mode=mode,
        per_core=per_core,
        worker_cores=cores,
        cores_per_host=cores_per_host,
        hosts=math.ceil(cores / cores_per_host),
        cpu_percent=100 * target_rps / (cores * per_core),
        master=master,
        source=source,
    )


def per_core_from(path: Path, generator: str, mode: str) -> float:
    """Requests per core-second for (generator, mode) from generator-bench's JSON."""
    rows = _rows(_load(path, "generator-bench"), path, "generator-bench", "summary")
    for row in rows:
        if row.get("generator") == generator and row.get("mode") == mode:
            return _figure(row.get("per_core"), path, f"{generator}/{mode} per_core")
    have = sorted({f"{r.get('generator')}/{r.get('mode')}" for r in rows})
    raise UsageError(f"{path} has no {generator}/{mode} figure (it has: {', '.join(have)})")


def master_from(path: Path) -> MasterCapacity:
    """The largest N master-bench held, and the master's CPU there."""
    data = _load(path, "master-bench")
    rows = _rows(data, path, "master-bench", "rows")
    held = data.get("largest_held")
    if not held:
        raise UsageError(f"{path}: the master held none of the worker counts measured")
    workers = int(_figure(held, path, "largest_held"))
    row = next((r for r in rows if r.get("workers") == held), None)
    if row is None:
        raise UsageError(f"{path}: largest_held {workers} has no row of its own")
    cpu = _figure(row.get("cpu_percent"), path, f"cpu_percent at {workers} workers")
    return MasterCapacity(workers, cpu, f"master-bench results {path}")


def _figure(value: object, path: Path, what: str) -> float:
    """A measured figure from a results file: a finite number above 0, else a one-line error."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{path}: {what} is {value!r}, not a number")
    if not math.isfinite(value) or value <= 0 or value > MAX_FIGURE:
        raise UsageError(f"{path}: {what} is {value!r}, not a finite number in (0, {MAX_FIGURE:g}]")
    return float(value)


def _rows(data: dict[str, Any], path: Path, what: str, key: str) -> list[dict[str, Any]]:
    rows = data.get(key)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"{path}: '{key}' is not a list of rows written by `swarmbench {what}`")
    return rows


def default_per_core(generator: str, mode: str) -> float:
    try:
        return DEFAULT_PER_CORE[(generator, mode)]
    except KeyError:
        known = sorted({g for g, _ in DEFAULT_PER_CORE})
        raise UsageError(
            f"no default figure for {generator}; use one of {', '.join(known)} "
            "or --from a generator-bench JSON"
        ) from None


def _load(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"{path} is not JSON written by `swarmbench {what} --out`") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not JSON written by `swarmbench {what} --out`")
    return data
