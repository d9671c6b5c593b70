"""`swarmbench soak`: minutes at a fixed rate on one target; is the generator's memory flat?"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from swarmbench.capacity.soak import GROWTH_GOAL_PERCENT, SoakSpec, run_soak
from swarmbench.errors import UsageError
from swarmbench.targets import registry
from swarmbench.util import options

DEFAULT_DURATION_S = 600.0
#: The default warm-up: a fifth of the run, at most this long.
MAX_DEFAULT_WARMUP_S = 60.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "soak", help="a long fixed-rate run: Locust master and worker memory and fds over time"
    )
    what = parser.add_argument_group("what to run")
    what.add_argument(
        "--system",
        default=options.env("SOAK_SYSTEM", "rust-std"),
        metavar="NAME",
        help="the target from deploy/targets.toml (default rust-std; SWARMBENCH_SOAK_SYSTEM)",
    )
    what.add_argument(
        "--rate",
        type=options.real(options.RATE),
        default=options.env("SOAK_RATE", "2000"),
        metavar="R",
        help="total requests/s (default 2000; SWARMBENCH_SOAK_RATE)",
    )
    what.add_argument(
        "--duration",
        type=options.duration(options.SOAK_SECONDS),
        default=DEFAULT_DURATION_S,
        metavar="SPAN",
        help="how long, e.g. 10m (default) or 2m for a trial",
    )
    what.add_argument(
        "--warmup",
        type=options.duration(options.SOAK_SECONDS),
        metavar="SPAN",
        help="samples before this are not compared (default a fifth of the run, at most 1m)",
    )
    load = parser.add_argument_group("load")
    load.add_argument(
        "--users",
        type=options.whole(options.CONNECTIONS),
        default=20,
        metavar="N",
        help="users (default 20)",
    )
    load.add_argument(
        "--workers",
        type=options.whole(options.LOCAL_PROCESSES),
        default=2,
        metavar="N",
        help="Locust worker processes (default 2)",
    )
    load.add_argument(
        "--interval",
        type=options.duration(options.SAMPLE_INTERVAL_SECONDS),
        default=5.0,
        metavar="SPAN",
        help="time between samples (default 5s)",
    )
    parser.set_defaults(func=cmd_soak)


def _mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def _report(console: Console, result: dict[str, Any]) -> bool:
    """Print each process's figures; True if every one met the goals."""
    ok = True
    console.print(
        f"{'process':<10} {'RSS after warm-up':>18} {'RSS at end':>12} {'growth':>8} "
        f"{'fds after warm-up':>18} {'fds at end':>11}"
    )
    for name, fig in sorted(result["processes"].items()):
        if fig is None:
            console.print(f"{name:<10} too few samples after the warm-up")
            ok = False
            continue
        flat = fig["rss_growth_percent"] < GROWTH_GOAL_PERCENT
        ok = ok and flat and not fig["fd_leak"]
        console.print(
            f"{name:<10} {_mib(fig['rss_start_bytes']):>18} {_mib(fig['rss_end_bytes']):>12} "
            f"{fig['rss_growth_percent']:>7.1f}% {fig['fds_start']:>18} {fig['fds_end']:>11}"
            + ("" if flat else "  memory grew")
            + ("  fd leak" if fig["fd_leak"] else "")
        )
    return ok


def cmd_soak(args: argparse.Namespace) -> int:
    registry.get(args.system)  # an unknown system is a one-line error before anything starts
    warmup = args.warmup
    if warmup is None:
        warmup = min(MAX_DEFAULT_WARMUP_S, args.duration / 5)
    if warmup >= args.duration:
        raise UsageError(f"--warmup {warmup:g}s must be shorter than --duration {args.duration:g}s")
    if args.interval >= args.duration - warmup:
        raise UsageError(
            f"--interval {args.interval:g}s leaves no samples to compare in the "
            f"{args.duration - warmup:g}s after the warm-up"
        )
    spec = SoakSpec(
        system=args.system,
        rate=args.rate,
        duration_s=args.duration,
        warmup_s=warmup,
        users=args.users,
        workers=args.workers,
        interval_s=args.interval,
    )
    console = Console(highlight=False, soft_wrap=True)
    console.print(
        f"swarmbench soak: {spec.system} at {spec.rate:g} req/s for {spec.duration_s:g} s, "
        f"{spec.users} users on {spec.workers} workers, sampled every {spec.interval_s:g} s, "
        f"compared after {warmup:g} s"
    )
    result = run_soak(spec)
    totals = result["totals"]
    if not totals:
        tail = (result["log"].strip().splitlines() or [""])[-1]
        code = result["exit_code"]
        console.print(f"swarmbench soak: Locust gave no result (exit {code}): {tail}")
        return 1
    console.print(
        f"requests {totals['requests']}, failures {totals['failures']}"
        f"{' ' + str(totals['failures_by_reason']) if totals['failures'] else ''}, "
        f"{totals['rps']:.1f} req/s, "
        f"p99 {totals['latency_us']['p99']} us"
    )
    ok = _report(console, result)
    goal = f"memory growth < {GROWTH_GOAL_PERCENT:g}% after warm-up and no fd leak"
    console.print(f"{'met' if ok else 'MISSED'}: {goal}")
    return 0
