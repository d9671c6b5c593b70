"""Typed validators and environment defaults shared by every command's options."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s?)?$")


def env(name: str, default: str | None = None) -> str | None:
    """Default of an option from SWARMBENCH_<NAME>, so CI and playbooks need no flags."""
    return os.environ.get(f"SWARMBENCH_{name}", default)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"port {value} is above 65535")
    return value


def duration(text: str) -> float:
    """Seconds from '30', '30s', '2m', '1m30s', '1h'."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(
            f"bad duration {text!r}: use seconds or a span like 30s, 2m, 1m30s"
        )
    hours, minutes, seconds = match.groups()
    total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
    if total <= 0:
        raise argparse.ArgumentTypeError(f"duration {text!r} must be longer than 0 s")
    return total


def http_url(text: str) -> str:
    """An http:// URL with a host; https is refused rather than half-supported."""
    parts = urlsplit(text)
    if parts.scheme == "https":
        raise argparse.ArgumentTypeError(f"{text!r}: https is not supported, use http://")
    if parts.scheme != "http" or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http URL like http://127.0.0.1:8080/")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has a bad port") from None
    return text


def csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text!r} is not a readable file")
    return path


def optional_file(text: str) -> Path | None:
    """An existing file, or '' for none (an empty SWARMBENCH_* variable, a playbook's default)."""
    return existing_file(text) if text.strip() else None


def add_targets_file(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--targets FILE: a user's systems, in deploy/targets.toml's form, beside the seven."""
    parser.add_argument(
        "--targets",
        type=optional_file,
        default=env("TARGETS"),
        metavar="FILE",
        help="your own systems, declared like deploy/targets.toml, merged with the seven "
        "(SWARMBENCH_TARGETS)",
    )
