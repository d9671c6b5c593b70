"""`swarmbench bench`: the benchmark's matrix in one command, then its report."""

from __future__ import annotations

import argparse
import ipaddress
import time
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.text import Text

from swarmbench.bench import backend, cluster_backend, resume, thresholds
from swarmbench.bench.matrix import GENERATOR_NAMES, PROFILES, BenchConfig, build_config
from swarmbench.bench.runner import BackendOpener, ResumePolicy, run_bench
from swarmbench.cluster import inventory
from swarmbench.errors import UsageError
from swarmbench.generators.locust import LOCUSTFILE, user_classes
from swarmbench.report import findings, model, writer
from swarmbench.results import RunDir
from swarmbench.util import atomic, options, pinning
from swarmbench.util.pinning import Placement

#: --same-traffic's steps: percents of the slowest system's capacity
STEPS = options.NumberList(
    options.whole(options.Limit(100, "a step is a share of the slowest system's capacity")),
    options.Limit(10, "each step is a phase of its own, every system in both modes"),
)


def same_traffic_steps(text: str) -> list[int | float]:
    """--same-traffic P,Q (percents 1-100), or off: an empty list."""
    return [] if text.strip() == "off" else STEPS(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("bench", help="run the matrix: systems x keep-alive x generators")
    what = parser.add_argument_group("what to measure")
    what.add_argument(
        "--profile",
        type=options.one_of(sorted(PROFILES), "profile"),
        default=options.env("PROFILE", "quick"),
        metavar="|".join(sorted(PROFILES)),
        # argparse formats help with %: a profile's "75% of" must reach it as "75%% of"
        help="defaults for the options below: "
        + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()).replace("%", "%%"),
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
    options.add_targets_file(what)
    what.add_argument(
        "--locustfile",
        type=options.existing_file,
        default=options.env("LOCUSTFILE"),
        metavar="FILE",
        help="your locustfile: the Locust cells run its --user-class instead of swarmbench's "
        "users (once per system, under keep-alive on); on a cluster the playbook ships it to "
        "the master and workers (SWARMBENCH_LOCUSTFILE)",
    )
    what.add_argument(
        "--user-class",
        default=options.env("USER_CLASS"),
        metavar="NAME",
        help="the User class of --locustfile to run (SWARMBENCH_USER_CLASS)",
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
        type=options.whole(options.CONNECTIONS),
        metavar="N",
        help="concurrent connections / Locust users",
    )
    load.add_argument(
        "--duration",
        type=options.duration(options.CELL_SECONDS),
        metavar="SPAN",
        help="measured time per round, e.g. 2s, 20s (whole seconds: the tools take no less)",
    )
    load.add_argument(
        "--rounds",
        type=options.whole(options.ROUNDS),
        default=options.env("ROUNDS"),
        metavar="N",
        help="short rounds per cell, interleaved across systems; each figure is their median "
        "with an interval (quick 3; SWARMBENCH_ROUNDS)",
    )
    load.add_argument(
        "--same-traffic",
        type=same_traffic_steps,
        default=options.env("SAME_TRAFFIC"),
        metavar="P,Q|off",
        help="the same-traffic phase after the flat-out cells: every system at these percents "
        "of the slowest system's capacity, per keep-alive mode (default 25,50,75; off skips "
        "it; SWARMBENCH_SAME_TRAFFIC)",
    )
    load.add_argument(
        "--warmup",
        type=options.duration(options.CELL_SECONDS),
        metavar="SPAN",
        help="warm-up per cell before measuring",
    )
    load.add_argument(
        "--requests",
        type=options.whole(options.REQUESTS),
        metavar="N",
        help="ab: a fixed request count per round instead of a duration",
    )
    load.add_argument(
        "--rate",
        type=options.real(options.RATE),
        metavar="R",
        help="the same-traffic phase at this one fixed total rate instead of percentages of "
        "the slowest system (Locust paces it)",
    )
    load.add_argument(
        "--workers",
        type=options.whole(options.LOCAL_PROCESSES),
        default=1,
        metavar="N",
        help="local Locust worker processes (default 1)",
    )
    place = parser.add_argument_group("placement and output")
    place.add_argument(
        "--target-threads",
        type=options.whole(options.THREADS),
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
        "--resume-anyway",
        action="store_true",
        help="resume an --out folder made with other parameters, another swarmbench or on another "
        "machine (refused by default: its cells would mix conditions; run.json records it)",
    )
    place.add_argument(
        "--keep-failed",
        action="store_true",
        help="when resuming, keep cells that failed instead of running them again",
    )
    place.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help="run on an Ansible inventory's hosts (groups master, workers, targets, monitor) "
        "instead of this machine: the playbook provisions them, load goes to the targets "
        "group only; --target-host, --workers and CPU placement do not apply",
    )
    place.add_argument(
        "--no-provision",
        action="store_true",
        help="with --inventory: skip the playbook's run at the start and use the cluster as "
        "the last `ansible-playbook playbooks/cluster.yml` left it (the target is still "
        "switched between systems); not with --targets or --locustfile, which it ships",
    )
    checks = parser.add_argument_group("pass or fail (for CI): exit 1 naming each miss")
    checks.add_argument(
        "--threshold",
        type=thresholds.parse,
        action="append",
        default=[],
        metavar="[SYSTEM:]METRIC<V",
        help="a limit every flat-out cell (or SYSTEM's) must meet; repeatable. METRIC: "
        + ", ".join(f"{k} ({v[0]})" for k, v in thresholds.METRICS.items())
        + "; e.g. p99_us<2000, my-app:rps>=5000, failure_ratio<0.001 "
        "(SWARMBENCH_THRESHOLDS: ';'-separated)",
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
        return RunDir(out).read_run().run_id, out
    run_id = time.strftime("%Y%m%d-%H%M%S")
    return run_id, out or Path("results") / run_id


def _thresholds(args: argparse.Namespace) -> list[thresholds.Threshold]:
    """--threshold, else SWARMBENCH_THRESHOLDS ('p99_us<2000;rps>100')."""
    if args.threshold:
        return list(args.threshold)
    found = []
    for text in (options.env("THRESHOLDS") or "").split(";"):
        if text.strip():
            try:
                found.append(thresholds.parse(text))
            except argparse.ArgumentTypeError as exc:
                raise UsageError(f"SWARMBENCH_THRESHOLDS: {exc}") from None
    return found


def _check_thresholds(limits: list[thresholds.Threshold], rundir: Path, console: Console) -> int:
    """Exit status 1 and each miss, when a threshold is missed; the verdicts in thresholds.json."""
    if not limits:
        return 0
    cells = RunDir(rundir).cells()
    misses = thresholds.check(limits, cells)
    atomic.write_json(
        rundir / "thresholds.json",
        {"thresholds": [t.text for t in limits], "missed": [m.as_dict() for m in misses]},
    )
    if not misses:
        console.print(f"thresholds: all {len(limits)} met ({', '.join(t.text for t in limits)})")
        return 0
    console.print(f"[red]thresholds: {len(misses)} missed[/]")
    for miss in misses:
        console.print(f"  missed: {miss.text}", soft_wrap=True)
    return 1


def _user_locustfile(args: argparse.Namespace) -> dict[str, str]:
    """--locustfile and --user-class, checked together: Locust must find the class in the file."""
    if not args.locustfile and not args.user_class:
        return {}
    if not args.locustfile or not args.user_class:
        raise UsageError("--locustfile and --user-class go together: the file and its User class")
    path = Path(args.locustfile).resolve()
    found = user_classes((path, LOCUSTFILE))
    if args.user_class not in found:
        raise UsageError(
            f"--user-class {args.user_class!r} is not a User class of {args.locustfile}; "
            f"found: {', '.join(found) or 'none'}"
        )
    return {"locustfile": str(path), "user_class": args.user_class}


def _no_urls_on_a_cluster(config: BenchConfig) -> None:
    running = [t.name for t in config.targets().values() if t.external]
    if running:
        raise UsageError(
            f"{', '.join(running)}: a server already running at a url is loaded locally only; "
            "on a cluster, declare how to run it (build, run) and the playbook starts it"
        )


def _local_urls(config: BenchConfig) -> None:
    """A user's server already running (a `url` entry) is loaded locally only on loopback."""
    for target in config.targets().values():
        if target.url is not None:
            host = urlsplit(target.url).hostname or ""
            try:
                _loopback(host)
            except UsageError:
                raise UsageError(
                    f"{target.name}: local mode only loads loopback addresses, not {target.url} "
                    "(use --inventory)"
                ) from None


def _no_provision(args: argparse.Namespace) -> None:
    if not args.no_provision:
        return
    if args.inventory is None:
        raise UsageError(
            "--no-provision is for a cluster (--inventory): locally nothing is provisioned"
        )
    shipped = [
        name
        for name, value in (("--targets", args.targets), ("--locustfile", args.locustfile))
        if value
    ]
    if shipped:
        raise UsageError(
            f"--no-provision with {' and '.join(shipped)}: provisioning ships them to the hosts; "
            "drop --no-provision"
        )


def cmd_bench(args: argparse.Namespace) -> int:
    _no_provision(args)
    inv = inventory.load(args.inventory) if args.inventory is not None else None
    if inv is None:
        _loopback(args.target_host)
    limits = _thresholds(args)
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
        rounds=args.rounds,
        same_traffic_steps=args.same_traffic,
        workers=args.workers,
        target_threads=args.target_threads,
        target_host=args.target_host,
        run_id=run_id,
        targets_file=str(args.targets) if args.targets else None,
        **_user_locustfile(args),
    )
    unknown = thresholds.unknown_systems(limits, config.systems)
    if unknown:
        raise UsageError(f"--threshold names {', '.join(unknown)}, not a system of this run")
    if inv is None:
        _local_urls(config)
    else:
        _no_urls_on_a_cluster(config)
    console = Console(stderr=True, highlight=False)
    placement: Placement | None = None
    if inv is None:
        placement = pinning.split()
        opener: BackendOpener = backend.local(placement)
        where = f"target on CPU {list(placement.target)}, generators on CPU "
        where += str(list(placement.generator))
    else:
        opener = cluster_backend.opener(inv, provision=not args.no_provision)
        where = f"cluster {args.inventory}: target {inv.one('targets')}, master {inv.one('master')}"
    header = f"swarmbench bench: {len(config.cells())} cells -> {out}; {where}"
    describe = {"backend": "local"} if inv is None else cluster_backend.describe(inv)
    accepted = resume.check(RunDir(out), config, describe, args.resume_anyway)

    policy = ResumePolicy(retry_failed=not args.keep_failed, accepted=accepted)
    rundir = run_bench(config, placement, opener, header, policy)
    paths = writer.write(rundir.path)
    report = model.load(rundir)
    for line in findings.locust_wrk_sentences(report):
        console.print(Text(f"Locust/wrk {line}"))
    console.print(Text(f"results: {rundir.path}/summary.csv; report: {', '.join(map(str, paths))}"))
    return _check_thresholds(limits, rundir.path, console)
