"""`swarmbench verify URL`: prove a server meets the contract before it is loaded."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.text import Text

from swarmbench.targets import registry
from swarmbench.targets.registry import HELLO
from swarmbench.targets.verify import verify
from swarmbench.util import options


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("verify", help="check a server against the targets' contract")
    parser.add_argument(
        "url", type=options.http_url, metavar="URL", help="e.g. http://127.0.0.1:8080/"
    )
    contract = parser.add_argument_group("whose contract (default: the seven's hello contract)")
    contract.add_argument(
        "--system",
        metavar="NAME",
        help="check the contract of this registry entry (with --targets, one of yours)",
    )
    options.add_targets_file(contract)
    parser.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    extra = Path(args.targets) if args.targets else None
    contract = registry.get(args.system, extra).contract if args.system else HELLO
    checks = verify(args.url, contract)
    console = Console(highlight=False, soft_wrap=True)
    for check in checks:
        if check.ok:
            mark = Text("pass", "green")
        else:
            mark = Text("FAIL", "red") if check.required else Text("note", "yellow")
        # The detail quotes the server: printed as text, never read as markup.
        console.print(Text.assemble(mark, f"  {check.name:<26} {check.detail}"))
    failed = [c.name for c in checks if c.failed]
    if failed:
        console.print(
            Text.assemble((f"{len(failed)} of {len(checks)} checks failed:", "red"),
                          f" {', '.join(failed)}")
        )  # fmt: skip
        return 1
    notes = [c.name for c in checks if not c.ok]
    if notes:
        passed = f"all {len(checks) - len(notes)} required checks passed"
        console.print(f"{passed} ({len(notes)} not required failed: {', '.join(notes)})")
    else:
        console.print(f"all {len(checks)} checks passed")
    return 0
