"""`swarmbench targets list|build|run`: the seven servers of the registry, and yours (--targets)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from swarmbench.targets import build, process, registry
from swarmbench.util import options


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("targets", help="list, build and run the target servers")
    tsub = parser.add_subparsers(dest="targets_command", metavar="ACTION")
    tsub.required = True

    p_list = tsub.add_parser("list", help="name, language, version, built or not")
    p_list.add_argument(
        "--markdown", action="store_true", help="the README's table: version, threading, headers"
    )
    options.add_targets_file(p_list)
    p_list.set_defaults(func=cmd_list)

    p_build = tsub.add_parser("build", help="build targets (all by default), skip up-to-date ones")
    p_build.add_argument("names", nargs="*", metavar="NAME", help="systems to build")
    p_build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    options.add_targets_file(p_build)
    p_build.set_defaults(func=cmd_build)

    p_run = tsub.add_parser("run", help="run one target in the foreground (Ctrl-C stops it)")
    p_run.add_argument("name", metavar="NAME", help="system to run")
    p_run.add_argument("--port", type=options.port, required=True, metavar="P", help="TCP port")
    p_run.add_argument(
        "--threads",
        type=options.whole(options.THREADS),
        default=options.env("THREADS", str(registry.default_threads())),
        metavar="N",
        help="worker threads (default: CPUs; SWARMBENCH_THREADS)",
    )
    p_run.add_argument(
        "--host",
        default=options.env("TARGET_BIND", "127.0.0.1"),
        metavar="ADDR",
        help="address to listen on (default 127.0.0.1; SWARMBENCH_TARGET_BIND)",
    )
    options.add_targets_file(p_run)
    p_run.set_defaults(func=cmd_run)


def _extra(args: argparse.Namespace) -> Path | None:
    return Path(args.targets) if getattr(args, "targets", None) else None


def markdown_table(extra: Path | None = None) -> str:
    """The README's table of the systems, generated so it cannot drift from the registry."""
    lines = [
        "| system | language | version | threading model | headers beyond the contract |",
        "|---|---|---|---|---|",
    ]
    for t in registry.load(extra=extra).values():
        headers = ", ".join(h.title() for h in t.extra_headers) or "none"
        lines.append(f"| {t.name} | {t.language} | {t.version} | {t.threading} | {headers} |")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown_table(_extra(args)))
        return 0
    table = Table("system", "language", "version", "built")
    for target in registry.load(extra=_extra(args)).values():
        built = f"runs at {target.url}" if target.external else "yes" if target.is_built() else "no"
        table.add_row(target.name, target.language, target.version, built)
    Console().print(table)
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    targets = registry.select(args.names, _extra(args))
    for target in targets:
        build.require_toolchain(target)
    console = Console(stderr=True)
    for target in targets:
        if target.external:
            console.print(f"{target.name}: runs at {target.url}, nothing to build")
            continue
        with console.status(f"building {target.name}"):
            result = build.build(target, force=args.force)
        state = f"built in {result.seconds:.1f} s" if result.built else "up to date"
        console.print(f"{target.name}: {state} -> {target.artefact}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    target = registry.get(args.name, _extra(args))
    if target.external:
        message = f"{target.name} runs at {target.url}: swarmbench does not start it"
        print(f"swarmbench: {message}", file=sys.stderr)
        return 2
    if not target.takes_threads and args.threads != registry.default_threads():
        print(f"swarmbench: {target.name} ignores --threads: {target.threading}", file=sys.stderr)
    running = process.start(target, args.port, args.threads, host=args.host)
    print(f"{target.name} listening on {running.url} (pid {running.pid}); Ctrl-C stops it")

    try:
        return running.proc.wait()
    except KeyboardInterrupt:
        running.stop()
        print(f"{target.name} stopped")
        return 0
