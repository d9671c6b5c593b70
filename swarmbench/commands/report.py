"""`swarmbench report RUN_DIR`: regenerate report.md and report.html from a results folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from swarmbench.errors import UsageError
from swarmbench.report import writer


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("report", help="rebuild report.md and report.html of a results folder")
    parser.add_argument(
        "run_dir", type=Path, metavar="RUN_DIR", help="a results folder, e.g. results/<run-id>"
    )
    parser.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    if not (run_dir / "run.json").is_file():
        raise UsageError(f"{run_dir} holds no run.json: not a swarmbench results folder")
    try:
        paths = writer.write(run_dir)
    except PermissionError as exc:  # unreadable results are a one-line ResultsError already
        raise UsageError(f"cannot write the report into {run_dir}: {exc.strerror}") from None
    for path in paths:
        print(path)
    return 0
