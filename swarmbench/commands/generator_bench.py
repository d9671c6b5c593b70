"""`swarmbench generator-bench`: each load generator's requests per core-second, against wrk."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from swarmbench.capacity import generator_bench
from swarmbench.errors import UsageError
from swarmbench.util import atomic, options


def _choices(allowed: tuple[str, ...], what: str):  # type: ignore[no-untyped-def]
    def parse(text: str) -> list[str]:
        items = options.csv_list(text)
        unknown = [item for item in items if item not in allowed]
        known = ",".join(allowed)
        if not items:
            raise options.invalid(text, f"names no {what}; choose from {known}")
        if unknown:
            raise options.invalid(
                text, f"names unknown {what} {', '.join(unknown)}; choose from {known}"
            )
        return items

    return parse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "generator-bench",
        help="compare load generators per generator-core-second against wrk",
        description=__doc__,
    )
    parser.add_argument(
        "--duration", type=options.duration(options.RUN_SECONDS), metavar="SPAN",
        default=options.env("GENBENCH_DURATION", "10s"), help="each run (default 10s)",
    )  # fmt: skip
    parser.add_argument(
        "--repeats", type=options.whole(options.REPEATS), metavar="N",
        default=options.env("GENBENCH_REPEATS", "3"), help="rounds; medians are quoted (3)",
    )  # fmt: skip
    parser.add_argument(
        "--connections", type=options.whole(options.CONNECTIONS), metavar="N",
        default=options.env("GENBENCH_CONNECTIONS", "64"), help="connections/users (64)",
    )  # fmt: skip
    parser.add_argument(
        "--modes", type=_choices(generator_bench.MODES, "mode"), metavar="LIST",
        default=options.env("GENBENCH_MODES", "keepalive,close"), help="keepalive,close",
    )  # fmt: skip
    parser.add_argument(
        "--generators", type=_choices(generator_bench.GENERATORS, "generator"), metavar="LIST",
        default=options.env("GENBENCH_GENERATORS", ",".join(generator_bench.GENERATORS)),
        help=f"subset of {','.join(generator_bench.GENERATORS)}",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.set_defaults(func=cmd_generator_bench)


def cmd_generator_bench(args: argparse.Namespace) -> int:
    if args.out:
        atomic.ensure_writable(args.out.parent, "the results (--out)")
    console = Console(highlight=False)
    generator_cpu, target_cpu = generator_bench.pick_cpus()
    if "ab" in args.generators and "wrk" not in args.generators:
        console.print("note: ab's request count is guessed without a wrk run before it")
    console.print(
        f"target {generator_bench.TARGET} on CPU {target_cpu}, generators on CPU {generator_cpu}; "
        f"{args.repeats} x {len(args.modes)} x {len(args.generators)} runs of "
        f"{args.duration:g} s, {args.connections} connections"
    )

    def progress(sample: generator_bench.Sample) -> None:
        console.print(
            f"  {sample.generator:<10} {sample.mode:<9} {sample.rps:>10,.0f} req/s "
            f"{sample.per_core:>10,.0f} req/core-s  cpu {sample.cpu_s:.2f} s"
            + (f"  [red]{sample.failures} failures[/]" if sample.failures else "")
        )

    with generator_bench.workdir() as tmp:
        settings = generator_bench.Settings(
            args.duration, args.connections, generator_cpu, Path(tmp)
        )
        samples = generator_bench.run_matrix(
            args.generators,
            args.modes,
            args.repeats,
            settings,
            target_cpu=target_cpu,
            progress=progress,
        )
    rows = generator_bench.summarise(samples)
    console.print(_table(rows, args.repeats))
    if args.out:
        meta = {
            "target": generator_bench.TARGET,
            "duration_s": args.duration,
            "repeats": args.repeats,
            "connections": args.connections,
            "generator_cpu": generator_cpu,
            "target_cpu": target_cpu,
        }
        generator_bench.write_json(args.out, samples, rows, meta)
        console.print(f"wrote {args.out}")
    if any(row.failures for row in rows):
        raise UsageError("some runs had failed requests: the figures above are not comparable")
    return 0


def _table(rows: list[generator_bench.Summary], repeats: int) -> Table:
    table = Table(title=f"requests per generator-core-second, median of {repeats}")
    for column in ("generator", "mode", "req/s", "req/core-s", "x wrk"):
        table.add_column(column, justify="left" if column in ("generator", "mode") else "right")
    for row in rows:
        ratio = "" if row.ratio_to_wrk is None else f"{row.ratio_to_wrk:.2f}"
        table.add_row(row.generator, row.mode, f"{row.rps:,.0f}", f"{row.per_core:,.0f}", ratio)
    return table
