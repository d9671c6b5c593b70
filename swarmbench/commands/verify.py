"""`swarmbench verify URL`: prove a server meets the contract before it is loaded."""

from __future__ import annotations

import argparse

from rich.console import Console

from swarmbench.targets.verify import verify
from swarmbench.util import options


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("verify", help="check a server against the targets' contract")
    parser.add_argument(
        "url", type=options.http_url, metavar="URL", help="e.g. http://127.0.0.1:8080/"
    )
    parser.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    checks = verify(args.url)
    console = Console(highlight=False, soft_wrap=True)
    for check in checks:
        mark = "[green]pass[/]" if check.ok else "[red]FAIL[/]"
        console.print(f"{mark}  {check.name:<26} {check.detail}")
    failed = [c.name for c in checks if not c.ok]
    if failed:
        console.print(f"[red]{len(failed)} of {len(checks)} checks failed:[/] {', '.join(failed)}")
        return 1
    console.print(f"all {len(checks)} checks passed")
    return 0
