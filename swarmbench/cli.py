"""The `swarmbench` command: one subcommand per module in swarmbench.commands."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence

from swarmbench import __version__
from swarmbench.commands import (
    bench,
    collector,
    generator_bench,
    master_bench,
    plan,
    plugin_bench,
    report,
    soak,
    targets,
    telemetry_bench,
    verify,
)
from swarmbench.errors import UsageError
from swarmbench.util import processes

# Each module offers register(subparsers); its parser sets `func(args) -> int`.
COMMANDS = (
    targets,
    verify,
    bench,
    collector,
    generator_bench,
    telemetry_bench,
    report,
    master_bench,
    plugin_bench,
    plan,
    soak,
)


class OneLineParser(argparse.ArgumentParser):
    """Bad input is one line and exit 2: the usage dump hides the message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="swarmbench", description=__doc__)
    parser.add_argument("--version", action="version", version=f"swarmbench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    sub.required = True
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    processes.install_signal_handlers()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"swarmbench: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: what was started is stopped
        signum = exc.signum if isinstance(exc, processes.Interrupted) else signal.SIGINT
        name = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
        print(f"swarmbench: interrupted{name}", file=sys.stderr)
        return 128 + signum
