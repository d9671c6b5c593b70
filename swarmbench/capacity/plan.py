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
    data = _load(path, "generator-bench")
    for row in data.get("summary", []):
        if row.get("generator") == generator and row.get("mode") == mode:
            return float(row["per_core"])
    have = sorted({f"{r.get('generator')}/{r.get('mode')}" for r in data.get("summary", [])})
    raise UsageError(f"{path} has no {generator}/{mode} figure (it has: {', '.join(have)})")


def master_from(path: Path) -> MasterCapacity:
    """The largest N master-bench held, and the master's CPU there."""
    data = _load(path, "master-bench")
    held = data.get("largest_held")
    if not held:
        raise UsageError(f"{path}: the master held none of the worker counts measured")
    row = next(r for r in data["rows"] if r["workers"] == held)
    return MasterCapacity(int(held), float(row["cpu_percent"]), f"master-bench results {path}")


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
