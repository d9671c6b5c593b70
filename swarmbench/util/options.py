"""Typed validators and environment defaults shared by every command's options.

Every number a command takes goes through a `Number` (or a `Span` for durations): finite, at
least its floor, at most its ceiling, and the ceiling carries the reason it is there, which the
error message quotes. Validators raise argparse.ArgumentTypeError, so bad input is one line and
exit 2 (swarmbench.cli.OneLineParser).

SWARMBENCH_* defaults are read lazily: `env()` returns the raw text, marked with the variable's
name, and argparse runs the option's validator on it only when that command parses its options
without the flag. So a bad SWARMBENCH_X breaks only the command that reads X, never `--help`,
and its message names the variable.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from swarmbench.errors import UsageError

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s?)?$", re.ASCII)
#: Plain ASCII numbers only: float() and int() also take "1_000", Unicode digits and "inf".
_INT = re.compile(r"^[+-]?\d+$", re.ASCII)
_FLOAT = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)

#: Every SWARMBENCH_<NAME> an option reads, filled as the parsers are built (for the tests).
ENV_NAMES: set[str] = set()


class EnvValue(str):
    """An option's default taken from the environment; `var` names the variable."""

    var: str


def env(name: str, default: str | None = None) -> str | None:
    """Default of an option from SWARMBENCH_<NAME>, so CI and playbooks need no flags.

    The text is not checked here: give it to an option with a validating `type` (or pass it to
    `from_env`), so a bad value is reported by the command that uses it, naming the variable.
    """
    var = f"SWARMBENCH_{name}"
    ENV_NAMES.add(var)
    raw = os.environ.get(var)
    if raw is None:
        return default
    value = EnvValue(raw)
    value.var = var
    return value


def _where(text: str) -> str:
    """How a bad value is named: the text itself, or the variable it came from."""
    if isinstance(text, EnvValue):
        return f"{text.var}={str(text)!r}"
    return repr(text)


def invalid(text: str, problem: str) -> argparse.ArgumentTypeError:
    """A validator's error: the value (or its SWARMBENCH_* variable), then what is wrong."""
    return argparse.ArgumentTypeError(f"{_where(text)} {problem}")


@dataclass(frozen=True)
class Limit:
    """A ceiling and why it is there (the error message quotes `why`)."""

    high: float
    why: str


@dataclass(frozen=True)
class Number:
    """A finite int or float in [low, limit.high] (low excluded when `open_low`)."""

    kind: type[int] | type[float]
    low: float
    limit: Limit
    open_low: bool = False
    unit: str = ""

    def __call__(self, text: str) -> int | float:
        value = self.parse(text)
        self.check(text, value)
        return value

    def parse(self, text: str) -> int | float:
        stripped = text.strip()
        if self.kind is int:
            if not _INT.match(stripped):
                raise invalid(text, "is not a whole number")
            return int(stripped)
        if not _FLOAT.match(stripped):
            named = stripped.lower().lstrip("+-") in {"inf", "infinity", "nan"}
            raise invalid(text, "is not a finite number" if named else "is not a number")
        value = float(stripped)
        if not math.isfinite(value):
            raise invalid(text, "is not a finite number")
        return value

    def check(self, text: str, value: float) -> None:
        unit = f" {self.unit}" if self.unit else ""
        if self.open_low and value <= self.low:
            raise invalid(text, f"must be greater than {_number_text(self.low)}{unit}")
        if value < self.low:
            raise invalid(text, f"must be at least {_number_text(self.low)}{unit}")
        if value > self.limit.high:
            high = _number_text(self.limit.high)
            raise invalid(text, f"must be at most {high}{unit}: {self.limit.why}")


def _number_text(value: float) -> str:
    """2147483647 as 2,147,483,647 and 0.5 as 0.5: a bound as people read it."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def whole(limit: Limit, low: int = 1) -> Number:
    """A whole number from `low` (default 1) to limit.high."""
    return Number(int, low, limit)


def real(limit: Limit, low: float = 0.0, *, open_low: bool = True, unit: str = "") -> Number:
    """A finite number above `low` (or from `low` when not open_low) up to limit.high."""
    return Number(float, low, limit, open_low=open_low, unit=unit)


@dataclass(frozen=True)
class Span:
    """Seconds from '30', '30s', '2m', '1m30s', '1h': above 0, at most limit.high seconds."""

    limit: Limit

    def __call__(self, text: str) -> float:
        stripped = text.strip()
        match = _DURATION.match(stripped)
        if not stripped or not match or not any(match.groups()):
            raise invalid(text, "is a bad duration: use seconds or a span like 30s, 2m, 1m30s")
        hours, minutes, seconds = match.groups()
        total = int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)
        if not math.isfinite(total):
            raise invalid(text, "is not a finite duration")
        if total <= 0:
            raise invalid(text, "must be longer than 0 s")
        if total > self.limit.high:
            raise invalid(text, f"is longer than {_span_text(self.limit.high)}: {self.limit.why}")
        return total


def _span_text(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds:g} s"


@dataclass(frozen=True)
class NumberList:
    """Comma-separated numbers, each checked by `item`; at most `most` of them."""

    item: Number
    most: Limit

    def __call__(self, text: str) -> list[int | float]:
        items = csv_list(text)
        if not items:
            raise invalid(text, "holds no numbers: give a comma-separated list like 100,250")
        if len(items) > self.most.high:
            most = _number_text(self.most.high)
            raise invalid(text, f"has more than {most} items: {self.most.why}")
        values = []
        for item in items:
            try:
                values.append(self.item(item))
            except argparse.ArgumentTypeError as exc:
                raise invalid(text, f"holds a bad item: {exc}") from None
        return values


def one_of(names: Iterable[str], what: str) -> Callable[[str], str]:
    """A choice that, unlike argparse's `choices`, is also checked on a SWARMBENCH_* default."""
    allowed = tuple(names)

    def parse(text: str) -> str:
        if text not in allowed:
            raise invalid(text, f"is not a known {what}; choose from {', '.join(allowed)}")
        return str(text)

    return parse


#: A TCP port: an option's `type`; a caller that needs an int writes int(port(text)).
port = Number(int, 1, Limit(65535, "TCP ports are 16-bit numbers"))


def duration(limit: Limit) -> Span:
    return Span(limit)


def from_env(name: str, default: str, parse: Callable[[str], object]) -> object:
    """A SWARMBENCH_<NAME> value checked now (not through argparse): exit-2 UsageError if bad."""
    text = env(name, default) or default
    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        raise UsageError(str(exc)) from None


def http_url(text: str) -> str:
    """An http:// URL with a host; https is refused rather than half-supported."""
    parts = urlsplit(text)
    if parts.scheme == "https":
        raise invalid(text, "uses https, which is not supported: use http://")
    if parts.scheme != "http" or not parts.hostname:
        raise invalid(text, "is not an http URL like http://127.0.0.1:8080/")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise invalid(text, "has a bad port") from None
    return text


def csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise invalid(text, "is not a readable file")
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


# -- ceilings every command shares, each with its reason ---------------------------------------
CONNECTIONS = Limit(
    20_000, "ab's own ceiling (MAX_CONCURRENCY), and each connection is a descriptor at both ends"
)
THREADS = Limit(1024, "more server threads than any machine here has cores, by far")
LOCAL_PROCESSES = Limit(256, "each is a Python process of ~40 MB on this machine")
RATE = Limit(10_000_000, "more than one Locust master's workers can offer (see swarmbench plan)")
CELL_SECONDS = Limit(6 * 3600, "a longer cell is a soak: use swarmbench soak")
SOAK_SECONDS = Limit(7 * 86400, "a soak keeps its samples in memory until it ends")
RUN_SECONDS = Limit(3600, "each run is repeated (rounds, modes, generators): hours in all already")
SAMPLE_INTERVAL_SECONDS = Limit(3600, "a soak that samples less than hourly shows no trend")
REQUESTS = Limit(2**31 - 1, "ab counts requests in a C int")
REPEATS = Limit(100, "medians settle long before; each repeat reruns the whole matrix")
ROUNDS = Limit(99, "each round reruns every cell: medians settle long before")
PID = Limit(4_194_304, "Linux's largest pid_max")
CPU = Limit(4095, "Linux numbers at most 4096 CPUs (CONFIG_NR_CPUS)")
HOST_CORES = Limit(1024, "more cores than any single host offers")
