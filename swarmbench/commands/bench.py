"""`swarmbench bench`: the benchmark's matrix in one command, then its report."""

from __future__ import annotations

import argparse
import ipaddress
import json
import signal
import time
from pathlib import Path
from types import FrameType

from rich.console import Console

from swarmbench.bench import backend, cluster_backend
from swarmbench.bench.matrix import GENERATOR_NAMES, PROFILES, build_config
from swarmbench.bench.runner import BackendOpener, run_bench
from swarmbench.cluster import inventory
from swarmbench.errors import UsageError
from swarmbench.report import writer
from swarmbench.util import options, pinning
from swarmbench.util.pinning import Placement


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("bench", help="run the matrix: systems x keep-alive x generators")
    what = parser.add_argument_group("what to measure")
    what.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=options.env("PROFILE", "quick"),
        help="defaults for the options below: "
        + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()),
    )
    what.add_argument(
        "--systems",
        type=options.csv_list,
        default=options.env("SYSTEMS"),
        metavar="A,B",
        help="systems from deploy/targets.toml (default all; SWARMBENCH_SYSTEMS)",
    )
    what.add_argument(
        "--keepalive",
        type=options.csv_list,
        default=options.env("KEEPALIVE", "on,off"),
        metavar="on,off",
        help="keep-alive modes (default on,off)",
    )
    what.add_argument(
        "--generators",
        type=options.csv_list,
        default=options.env("GENERATORS", ",".join(GENERATOR_NAMES)),
        metavar="G,H",
        help=f"load generators (default {','.join(GENERATOR_NAMES)})",
    )
    load = parser.add_argument_group("load (defaults from the profile)")
    load.add_argument(
        "--users",
        type=options.positive_int,
        metavar="N",
        help="concurrent connections / Locust users",
    )
    load.add_argument(
        "--duration",
        type=options.duration,
        metavar="SPAN",
        help="measured time per cell, e.g. 10s, 1m",
    )
    load.add_argument(
        "--warmup", type=options.duration, metavar="SPAN", help="warm-up per cell before measuring"
    )
    load.add_argument(
        "--requests",
        type=options.positive_int,
        metavar="N",
        help="ab: a fixed request count instead of a duration",
    )
    load.add_argument(
        "--rate",
        type=options.positive_float,
        metavar="R",
        help="fixed total requests/s, the same traffic for every system (Locust)",
    )
    load.add_argument(
        "--workers",
        type=options.positive_int,
        default=1,
        metavar="N",
        help="local Locust worker processes (default 1)",
    )
    place = parser.add_argument_group("placement and output")
    place.add_argument(
        "--target-threads",
        type=options.positive_int,
        metavar="N",
        help="server worker threads (default: the target's cores)",
    )
    place.add_argument(
        "--target-host",
        default="127.0.0.1",
        metavar="ADDR",
        help="loopback address local targets listen on (default 127.0.0.1; not with --inventory)",
    )
    place.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        default=options.env("OUT"),
        help="results folder; rerun with the same folder to resume (default results/<run-id>)",
    )
    place.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="run on an Ansible inventory's hosts (groups master, workers, targets, monitor) "
        "instead of this machine: the playbook provisions them, load goes to the targets "
        "group only; --target-host, --workers and CPU placement do not apply",
    )
    parser.set_defaults(func=cmd_bench)


def _loopback(address: str) -> str:
    try:
        if ipaddress.ip_address(address).is_loopback:
            return address
    except ValueError:
        pass
    raise UsageError(f"local mode only loads loopback addresses, not {address!r} (use --inventory)")


def _run_id(out: Path | None) -> tuple[str, Path]:
    if out is not None and (out / "run.json").exists():
        return str(json.loads((out / "run.json").read_text())["run_id"]), out
    run_id = time.strftime("%Y%m%d-%H%M%S")
    return run_id, out or Path("results") / run_id


def cmd_bench(args: argparse.Namespace) -> int:
    inv = inventory.load(args.inventory) if args.inventory is not None else None
    if inv is None:
        _loopback(args.target_host)
    run_id, out = _run_id(args.out)
    config = build_config(
        out,
        args.profile,
        args.systems,
        args.keepalive,
        args.generators,
        connections=args.users,
        ab_connections=args.users,
        duration_s=args.duration,
        warmup_s=args.warmup,
        ab_requests=args.requests,
        rate=args.rate,
        workers=args.workers,
        target_threads=args.target_threads,
        target_host=args.target_host,
        run_id=run_id,
    )
    console = Console(stderr=True, highlight=False)
    placement: Placement | None = None
    if inv is None:
        placement = pinning.split()
        opener: BackendOpener = backend.local(placement)
        where = f"target on CPU {list(placement.target)}, generators on CPU "
        where += str(list(placement.generator))
    else:
        opener = cluster_backend.opener(inv)
        where = f"cluster {args.inventory}: target {inv.one('targets')}, master {inv.one('master')}"
    header = f"swarmbench bench: {len(config.cells())} cells -> {out}; {where}"

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    rundir = run_bench(config, placement, opener, header)
    paths = writer.write(rundir.path)
    console.print(f"results: {rundir.path}/summary.csv; report: {', '.join(map(str, paths))}")
    return 0
