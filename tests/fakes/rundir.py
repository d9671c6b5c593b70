"""A synthetic results folder, written with the real RunDir and CellResult, for report tests.

Figures are invented but shaped like real cells: wrk and ab report what those tools report,
Locust cells carry the Prometheus panel series a bench would read back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from swarmbench.results import CellResult, PrometheusFigures, RunDir, new_run_record

SYSTEMS = ("tokio", "hyperlane", "rocket", "rust-std", "gin", "go-std", "node-std")
#: requests/s with keep-alive on (wrk); node-std's CPU per request is 4x tokio's
RPS = {
    "tokio": 50000,
    "hyperlane": 48000,
    "rocket": 42000,
    "rust-std": 40000,
    "gin": 36000,
    "go-std": 35000,
    "node-std": 20000,
}
#: keep-alive off is its own table, not a fixed share of on: a ratio mistake shows
RPS_OFF = {
    "tokio": 9000,
    "hyperlane": 9500,
    "rocket": 8000,
    "rust-std": 5500,
    "gin": 7000,
    "go-std": 6800,
    "node-std": 6000,
}
#: each generator reaches its own share of wrk's figure
GENERATOR_SHARE = {"wrk": 1.0, "ab": 0.9, "locust": 0.55}
#: each round's requests/s relative to the median: a ±1% interval
ROUND_SPREAD = (0.99, 1.0, 1.01)
CPU_US = {
    "tokio": 10.0,
    "hyperlane": 11.0,
    "rocket": 12.5,
    "rust-std": 14.0,
    "gin": 16.0,
    "go-std": 17.0,
    "node-std": 40.0,
}
T0 = 1_790_000_000.0
PLACEMENT = {"target": [1], "generator": [0]}


def run_info(systems: tuple[str, ...], rate: float | None) -> dict[str, Any]:
    return {
        "run_id": "20261126-120000",
        "created_at": "2026-11-26T12:00:00Z",
        "parameters": {
            "profile": {
                "name": "quick",
                "connections": 64,
                "duration_s": 5.0,
                "warmup_s": 2.0,
                "wrk_threads": 1,
                "ab_connections": 64,
                "ab_requests": None,
                "description": "64 connections, 5 s per cell",
            },
            "systems": list(systems),
            "keepalive": [True, False],
            "generators": ["locust", "wrk", "ab"],
            "rate": rate,
            "workers": 1,
        },
        "placement": PLACEMENT,
        "machine": {
            "cpu_model": "Test CPU 9000",
            "logical_cpus": 2,
            "memory_bytes": 8 * 2**30,
            "kernel": "6.1.0",
            "os": "Linux-6.1.0-x86_64",
            "python": "3.11.2",
        },
        "versions": {
            "swarmbench": "0.1.0",
            "python_packages": {"locust": "2.43.1"},
            "tools": {"wrk": "wrk 4.1.0", "ab": "ab 2.3"},
            "systems": {},
        },
        "backend": "local",
    }


def series(rps: float, cores: float, start: float, end: float) -> dict[str, Any]:
    times = [start - 3 + i for i in range(int(end - start) + 7)]
    ramp = [min(1.0, max(0.0, (t - start + 1) / 3)) for t in times]
    return {
        "Throughput": [
            {"legend": "x", "values": [[t, rps * r] for t, r in zip(times, ramp, strict=True)]}
        ],
        "Target CPU cores": [
            {"legend": "x", "values": [[t, cores * r] for t, r in zip(times, ramp, strict=True)]}
        ],
        "CPU µs per request": [],
    }


def cell(
    system: str, mode: str, generator: str, index: int, rate: float | None, *, load: int = 0
) -> CellResult:
    rps = float(RPS[system] if mode == "on" else RPS_OFF[system]) * GENERATOR_SHARE[generator]
    if generator == "wrk" and mode == "off":
        rps = float(RPS_OFF[system])
    if rate is not None:
        rps = rate
    cpu_us = CPU_US[system] * (1.0 if mode == "on" else 2.0)
    duration = 5.0
    requests = int(rps * duration)
    cpu_s = cpu_us * requests / 1e6
    start = T0 + index * 20
    scale = CPU_US[system] / 10  # slower servers answer later, so the curves differ
    latency: dict[str, float | None] = {
        "mean": 1200.0,
        "p50": 1000.0,
        "p90": 2000.0,
        "p99": 4000.0,
        "p99.9": 8000.0,
        "max": 20000.0,
    }
    resolution = 1.0
    if generator == "wrk":
        latency["p99.9"], resolution = None, 10.0
    latency = {k: v * scale if v is not None else None for k, v in latency.items()}
    if generator == "ab":
        latency = {"mean": None, "p50": 1000.0, "p90": 2000.0, "p99": 4000.0, "max": 21000.0}
        resolution = 1000.0
    prom: dict[str, Any] = {
        "available": True,
        "window": [start, start + duration],
        "target_cpu_seconds": cpu_s,
        "cpu_us_per_request": cpu_us * 1.02,
        "series": series(rps, cpu_s / duration, start, start + duration),
    }
    rounds = [
        {
            "index": i,
            "rps": rps * f,
            "requests": int(requests * f / 3),
            "failures": 0,
            "duration_s": duration / 3,
            "target_cpu_percent": 100 * cpu_s / duration * f,
            "cpu_us_per_request": cpu_us,
            "other_cpu_percent": 5.0,
            "generator_bound": False,
        }
        for i, f in enumerate(ROUND_SPREAD)
    ]
    cpu_percent = 100 * cpu_s / duration
    return CellResult(
        system,
        mode,
        generator,
        verdict="ok",
        rounds=rounds,
        rounds_planned=3,
        intervals={
            "rps": [rps * ROUND_SPREAD[0], rps * ROUND_SPREAD[-1]],
            "target_cpu_percent": [cpu_percent * ROUND_SPREAD[0], cpu_percent * ROUND_SPREAD[-1]],
            "cpu_us_per_request": [cpu_us, cpu_us],
        },
        interval_coverage=0.75,
        load_percent=load,
        offered_rps=rate if load else None,
        requests=requests,
        failures=0,
        duration_s=duration,
        rps=rps,
        latency_us=latency,
        latency_resolution_us=resolution,
        target_cpu_seconds=cpu_s,
        target_cpu_percent=cpu_percent,
        cpu_us_per_request=cpu_us,
        rss_peak_bytes=12 * 2**20,
        threads_peak=3,
        generator_cpu_percent=60.0,
        prometheus=PrometheusFigures.from_dict(prom),
        conditions={
            "connections": 64,
            "duration_s": duration,
            "requests": None,
            "rate": rate if load else None,
            "workers": 1,
            "wrk_threads": 1,
            "warmup_s": 2.0,
            "target_threads": 1,
            "placement": PLACEMENT,
        },
        started_at=start,
        ended_at=start + duration,
    )


#: the same-traffic phase's steps, in percent of REFERENCE
STEPS = (25, 50, 75)
#: the same-traffic reference per mode: node-std's locust figure in the fake
REFERENCE = {"on": 8000.0, "off": 2000.0}


def build(
    path: Path,
    systems: tuple[str, ...] = SYSTEMS,
    generators: tuple[str, ...] = ("locust", "wrk", "ab"),
    same_traffic: bool = False,
) -> RunDir:
    """A finished run with every cell ok; callers alter cells with `alter`. With
    `same_traffic`, every system at 25/50/75% of REFERENCE per mode too (Locust)."""
    rundir = RunDir(path)
    rundir.ensure_writable()
    rundir.write_run(new_run_record(run_info(systems, None)))
    index = 0
    for system in systems:
        for mode in ("on", "off"):
            for generator in generators:
                rundir.write_cell(cell(system, mode, generator, index, None))
                index += 1
    if same_traffic:
        refs = {}
        for mode in ("on", "off"):
            refs[mode] = {"mode": mode, "rps": REFERENCE[mode], "basis": "node-std's capacity"}
            for step in STEPS:
                for system in systems:
                    rate = REFERENCE[mode] * step / 100
                    rundir.write_cell(cell(system, mode, "locust", index, rate, load=step))
                    index += 1
        (path / "same-traffic.json").write_text(
            json.dumps({"steps_percent": list(STEPS), "references": refs})
        )
    rundir.write_summary(rundir.cells())
    return rundir


def alter(
    rundir: RunDir, system: str, mode: str, generator: str, load: int = 0, **changes: Any
) -> None:
    """Rewrite one cell with some fields changed (e.g. a failed verdict)."""
    found = next(
        c
        for c in rundir.cells()
        if (c.system, c.keepalive, c.generator, c.load_percent) == (system, mode, generator, load)
    )
    for name, value in changes.items():
        typed = PrometheusFigures.from_dict(value) if name == "prometheus" else value
        setattr(found, name, typed)
    rundir.write_cell(found)
