"""`swarmbench telemetry-bench`: print what the collector and the master plugin cost."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from swarmbench.capacity import telemetry_bench
from swarmbench.errors import UsageError
from swarmbench.targets import registry
from swarmbench.util import options

#: The master-plugin rounds run one Locust worker: its core sets the ceiling.
ONE_WORKER_RATE = options.Limit(1_000_000, "one Locust worker core offers far less")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "telemetry-bench",
        help="measure the collector's CPU at a 1 s scrape and the master plugin's cost",
    )
    parser.add_argument(
        "--system", default="node-std", metavar="NAME", help="target to watch (default node-std)"
    )
    parser.add_argument(
        "--seconds",
        type=options.duration(options.RUN_SECONDS),
        default=10.0,
        metavar="T",
        help="length of each measurement (default 10s)",
    )
    parser.add_argument(
        "--rounds",
        type=options.whole(options.REPEATS),
        default=3,
        metavar="N",
        help="on/off rounds for the master plugin (default 3)",
    )
    parser.add_argument(
        "--rate",
        type=options.whole(ONE_WORKER_RATE),
        default=2000,
        metavar="R",
        help="requests/s for the master plugin rounds (default 2000)",
    )
    parser.set_defaults(func=cmd_telemetry_bench)


def cmd_telemetry_bench(args: argparse.Namespace) -> int:
    target = registry.get(args.system)
    if not target.is_built():
        raise UsageError(
            f"{target.name} is not built: run `swarmbench targets build {target.name}`"
        )
    with tempfile.TemporaryDirectory(prefix="swarmbench-telemetry-") as tmp:
        telemetry_bench.run(args.system, args.seconds, args.rounds, args.rate, Path(tmp))
    return 0
