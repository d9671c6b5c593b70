"""`swarmbench plan`: worker cores, hosts and master headroom for a target request rate."""

from __future__ import annotations

import argparse
from pathlib import Path

from swarmbench.capacity import plan
from swarmbench.util import options

#: The plan's arithmetic is linear; beyond this the answer is thousands of hosts anyway.
TARGET_RPS = options.Limit(1e9, "a billion requests/s is past any cluster this plans")


def _keepalive(text: str) -> str:
    value = text.strip().lower()
    if value in {"on", "off"}:
        return value
    raise options.invalid(text, "is not on or off")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "plan",
        help="how many worker cores and hosts a target request rate needs",
        description=plan.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--target-rps", type=options.real(TARGET_RPS), required=True, metavar="R",
        help="requests/s the run must offer",
    )  # fmt: skip
    parser.add_argument(
        "--keepalive", type=_keepalive, default=options.env("KEEPALIVE", "on"), metavar="on|off",
        help="keep connections open (on) or one connection per request (off)",
    )  # fmt: skip
    parser.add_argument(
        "--generator", default=options.env("PLAN_GENERATOR", "swarmbench"), metavar="NAME",
        help="whose cost per request to plan with: swarmbench (default), fasthttp, http, wrk",
    )  # fmt: skip
    parser.add_argument(
        "--from", dest="from_file", type=Path, metavar="FILE",
        default=options.env("PLAN_FROM"), help="`swarmbench generator-bench --out` results",
    )  # fmt: skip
    parser.add_argument(
        "--master-bench", type=Path, metavar="FILE", default=options.env("PLAN_MASTER_BENCH"),
        help="`swarmbench master-bench --out` results (default: the figure measured here)",
    )  # fmt: skip
    parser.add_argument(
        "--cores-per-host", type=options.whole(options.HOST_CORES), metavar="N",
        default=options.env("CORES_PER_HOST", "8"), help="worker cores per host (8)",
    )  # fmt: skip
    parser.set_defaults(func=cmd_plan)


def cmd_plan(args: argparse.Namespace) -> int:
    mode = "keepalive" if args.keepalive == "on" else "close"
    if args.from_file:
        per_core = plan.per_core_from(args.from_file, args.generator, mode)
        source = f"generator-bench results {args.from_file}"
    else:
        per_core = plan.default_per_core(args.generator, mode)
        source = plan.DEFAULT_CONDITIONS
    master = plan.master_from(args.master_bench) if args.master_bench else plan.DEFAULT_MASTER
    p = plan.make_plan(
        args.target_rps, mode, per_core, generator=args.generator,
        cores_per_host=args.cores_per_host, master=master, source=source,
    )  # fmt: skip
    print(render(p))
    return 0


def render(p: plan.Plan) -> str:
    ceiling = round(100 * plan.CPU_CEILING)
    verdict = (
        f"yes: {p.worker_cores} workers of the {p.master.workers:,} one master core held"
        if p.master_holds
        else f"NO: {p.worker_cores} workers exceed the {p.master.workers:,} one master core held;"
        " use fewer, faster workers or split the run"
    )
    keepalive = "on" if p.mode == "keepalive" else "off"
    return "\n".join(
        [
            f"target            {p.target_rps:,.0f} req/s, keep-alive {keepalive}, "
            f"generator {p.generator}",
            f"per worker core   {p.per_core:,.0f} req/s at 100% CPU; planned at <= {ceiling}%",
            f"worker cores      {p.worker_cores} (a Locust worker each, {p.cpu_percent:.0f}% busy)",
            f"hosts             {p.hosts} x {p.cores_per_host} cores",
            f"one master        {verdict}",
            f"figures from      {p.source}",
            f"master figure     {p.master.source}",
        ]
    )
