"""`swarmbench master-bench`: how many simulated workers one Locust master core holds."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from swarmbench.capacity import master_bench
from swarmbench.util import atomic, options

#: Simulated workers per run: each holds a ZeroMQ socket, so descriptors run out first.
SIMULATED_WORKERS = options.Limit(20_000, "each simulated worker holds a descriptor on the master")
#: One run per count, each a full --duration.
WORKER_COUNTS = options.Limit(20, "each count is a whole run of --duration")
RATE_PER_WORKER = options.Limit(10_000_000, "far beyond what one worker core can offer")
worker_counts = options.NumberList(options.whole(SIMULATED_WORKERS), WORKER_COUNTS)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "master-bench",
        help="master CPU, memory, queueing and exact totals under N simulated workers",
        description=__doc__,
    )
    parser.add_argument(
        "--workers", type=worker_counts, metavar="LIST",
        default=options.env("MASTERBENCH_WORKERS", "100,250,500,1000,2000"),
        help="simulated worker counts, one run each (100,250,500,1000,2000)",
    )  # fmt: skip
    parser.add_argument(
        "--duration", type=options.duration(options.RUN_SECONDS), metavar="SPAN",
        default=options.env("MASTERBENCH_DURATION", "40s"),
        help="each run after all workers attach (40s)",
    )  # fmt: skip
    parser.add_argument(
        "--rate-per-worker", type=options.real(RATE_PER_WORKER), metavar="R",
        default=options.env("MASTERBENCH_RATE_PER_WORKER", "40000"),
        help="requests/s each simulated worker reports (40000: one fast-user core)",
    )  # fmt: skip
    parser.add_argument(
        "--names", type=options.whole(master_bench.NAMES), metavar="N",
        default=options.env("MASTERBENCH_NAMES", "1"),
        help="request names each worker's load is split over, each merged apart (1)",
    )  # fmt: skip
    parser.add_argument(
        "--master-cpu", type=options.whole(options.CPU, low=0), metavar="CPU",
        default=options.env("MASTERBENCH_MASTER_CPU"),
        help="the core the master gets to itself (default: the first); workers get the rest",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, metavar="PATH", help="also write the rows as JSON")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR",
        help="keep the master's logs and JSON and the simulators' tallies here",
    )  # fmt: skip
    parser.set_defaults(func=cmd_master_bench)


def cmd_master_bench(args: argparse.Namespace) -> int:
    master_bench.check_fds(args.workers)
    if args.out:
        atomic.ensure_writable(args.out.parent, "the results (--out)")
    if args.keep:
        atomic.ensure_writable(args.keep, "the kept logs (--keep)")
    master_cpu, sim_cpus = master_bench.pick_cpus(args.master_cpu)
    console = Console(highlight=False)
    console.width = max(console.width, 170)  # the table's 16 columns
    console.print(
        f"master on CPU {master_cpu}, simulated workers on CPU {','.join(map(str, sim_cpus))}; "
        f"{args.duration:g} s per count, {args.rate_per_worker:,.0f} req/s per worker "
        f"over {args.names} request name{'s' if args.names > 1 else ''}, "
        f"Locust's intervals; {master_bench.cpu_count_note()}"
    )

    def progress(row: master_bench.Row) -> None:
        console.print(
            f"  {row.workers:>5} workers: cpu {row.cpu_percent}% rtt p99 {row.rtt_p99_ms} ms "
            f"(simulator loop lag p99 {row.sim_lag_p99_ms} ms) missing {row.missing} "
            f"exact {row.exact}"
        )

    with tempfile.TemporaryDirectory(prefix="swarmbench-masterbench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        settings = master_bench.Settings(
            args.duration, args.rate_per_worker, master_cpu, sim_cpus, workdir, names=args.names
        )
        rows = master_bench.run(args.workers, settings, progress)
    console.print(_table(rows))
    best = master_bench.largest_held(rows)
    console.print(f"largest N held on one master core: {best if best else 'none of those run'}")
    projection = master_bench.projected_workers(rows)
    if projection:
        console.print(
            f"master CPU per worker: {projection[0]:.0f} us per worker-second at N={best}; "
            f"a dedicated core at {master_bench.HELD_CPU_PERCENT:.0f}% would hold about "
            f"{projection[1]:,} (a linear projection, not measured)"
        )
    sizes = [r.report_bytes_median for r in rows if r.report_bytes_median]
    if sizes:
        console.print(
            f"bytes per worker report (msgpack, with the histogram): median {sizes[0]:,}, "
            f"max {max(r.report_bytes_max for r in rows):,}"
        )
    if args.out:
        meta = {"duration_s": args.duration, "rate_per_worker": args.rate_per_worker,
                "names": args.names,
                "master_cpu": master_cpu, "sim_cpus": list(sim_cpus),
                "machine": master_bench.cpu_count_note()}  # fmt: skip
        master_bench.write_json(args.out, rows, meta)
        console.print(f"wrote {args.out}")
    return 0


def _table(rows: list[master_bench.Row]) -> Table:
    table = Table(title="one Locust master core under simulated workers")
    heads = ("workers", "attach s", "CPU %", "peak %", "CPU wait %", "RSS MB", "hb rtt p50 ms",
             "p99 ms", "max ms", "sim CPU %", "sim lag p99 ms", "missing", "requests sent",
             "totals", "report B", "held")  # fmt: skip
    for head in heads:
        table.add_column(head, justify="right")
    for r in rows:
        totals = "exact" if r.exact else f"[red]{r.master_requests:,} / {r.locust_requests:,}[/]"
        table.add_row(
            str(r.workers), f"{r.attach_s:g}", f"{r.cpu_percent:g}", f"{r.cpu_peak_percent:g}",
            f"{r.cpu_wait_percent:g}",
            f"{r.rss_peak_bytes / 1e6:.0f}", f"{r.rtt_p50_ms:g}", f"{r.rtt_p99_ms:g}",
            f"{r.rtt_max_ms:g}", f"{r.sim_cpu_percent:g}", f"{r.sim_lag_p99_ms:g}",
            str(r.missing),
            f"{r.sent_requests:,}", totals, f"{r.report_bytes_median:,}",
            "yes" if r.held else "[red]no[/]",
        )  # fmt: skip
    return table
