"""`swarmbench plugin-bench`: what swarmbench's Locust plugin costs per request, against plain
Locust running the same locustfile, in interleaved rounds."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console

from swarmbench.capacity import generator_bench, plugin_bench
from swarmbench.errors import UsageError
from swarmbench.util import atomic, options


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "plugin-bench",
        help="the plugin's generator CPU per request against plain Locust, same locustfile",
        description=__doc__,
    )
    parser.add_argument(
        "--locustfile", type=options.existing_file, metavar="FILE",
        default=options.env("PLUGINBENCH_LOCUSTFILE"),
        help="the locustfile to run both ways (default: FastHttpUser, GET / over keep-alive)",
    )  # fmt: skip
    parser.add_argument(
        "--user-class", metavar="NAME", default=options.env("PLUGINBENCH_USER_CLASS"),
        help=f"its User class (default: {plugin_bench.DEFAULT_USER_CLASS} of the default file)",
    )  # fmt: skip
    parser.add_argument(
        "--duration", type=options.duration(options.RUN_SECONDS), metavar="SPAN",
        default=options.env("PLUGINBENCH_DURATION", "10s"), help="each run (10s)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=options.whole(options.REPEATS), metavar="N",
        default=options.env("PLUGINBENCH_ROUNDS", "5"),
        help="rounds of one plain and one plugin run, order alternating (5)",
    )  # fmt: skip
    parser.add_argument(
        "--users", type=options.whole(options.CONNECTIONS), metavar="N",
        default=options.env("PLUGINBENCH_USERS", "16"), help="Locust users (16)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.set_defaults(func=cmd_plugin_bench)


def cmd_plugin_bench(args: argparse.Namespace) -> int:
    if args.locustfile and not args.user_class:
        raise UsageError("--locustfile needs --user-class: the class to run from it")
    if args.out:
        atomic.ensure_writable(args.out.parent, "the results (--out)")
    console = Console(highlight=False)
    generator_cpu, target_cpu = generator_bench.pick_cpus()
    what = args.locustfile or "FastHttpUser GET / (keep-alive)"
    console.print(
        f"{what}: plain Locust vs with swarmbench's plugin; target {plugin_bench.TARGET} on CPU "
        f"{target_cpu}, Locust on CPU {generator_cpu}; {args.rounds} rounds of 2 x "
        f"{args.duration:g} s, {args.users} users; {plugin_bench.conditions()}"
    )

    def progress(sample: plugin_bench.Sample) -> None:
        console.print(
            f"  round {sample.round + 1} {sample.side:<6} {sample.rps:>9,.0f} req/s "
            f"{sample.us_per_request:>7.1f} us CPU/request"
            + (f"  [red]{sample.failures} failures[/]" if sample.failures else "")
        )

    with tempfile.TemporaryDirectory(prefix="swarmbench-pluginbench-") as tmp:
        settings = plugin_bench.Settings(
            args.duration, args.users, args.rounds, generator_cpu, target_cpu, Path(tmp),
            locustfile=args.locustfile.resolve() if args.locustfile else None,
            user_class=args.user_class or plugin_bench.DEFAULT_USER_CLASS,
        )  # fmt: skip
        samples = plugin_bench.run(settings, progress)
    summary = plugin_bench.summarise(samples)
    ratios = ", ".join(f"{r:.3f}" for r in summary.ratios)
    console.print(
        f"generator CPU per request, medians: plain {summary.plain_us_per_request:.1f} us, "
        f"plugin {summary.plugin_us_per_request:.1f} us\n"
        f"plugin / plain per round: {ratios}\n"
        f"median ratio {summary.median_ratio:.3f} (goal <= {plugin_bench.GOAL_RATIO:.2f}: "
        f"{'met' if summary.goal_met else 'NOT met'}); after the run: {plugin_bench.conditions()}"
    )
    if args.out:
        meta = {"locustfile": str(what), "user_class": settings.user_class,
                "duration_s": args.duration, "rounds": args.rounds, "users": args.users,
                "generator_cpu": generator_cpu, "target_cpu": target_cpu, "target":
                plugin_bench.TARGET}  # fmt: skip
        plugin_bench.write_json(args.out, samples, summary, meta)
        console.print(f"wrote {args.out}")
    if summary.failures:
        raise UsageError("some runs had failed requests: the figures above are not comparable")
    return 0
