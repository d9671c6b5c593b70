"""Pass/fail thresholds on a Locust run's figures, as k6's thresholds and locust-plugins'
--check-* do: checked at the end of a `locust` run with swarmbench's plugin (--max-p99-us,
--max-failure-ratio, --min-rps; engine.plugin_options and engine.run_end).

The figures carry the names `swarmbench bench --threshold` gives them (bench/thresholds.py,
which checks cells): p99_us, failure_ratio, rps, cpu_us_per_request. A Threshold names a figure
of `Figures`, its limit and the option that set it; `check` compares a run's figures with each
and an Outcome that missed says what was measured against what:

    p99 1,234 us > 1,000 us (--max-p99-us)

A figure that was not measured (no requests, no target CPU) misses its threshold: a CI gate
must not pass a run that measured nothing. Pure: no Locust, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: The exit code of a `locust` run that missed a threshold (locust-plugins' --check-* use 3 too;
#: Locust's own failures exit 1, bad input 2).
EXIT_MISSED = 3


@dataclass(frozen=True)
class Figure:
    """How one figure is named, in which unit, and which way is bad."""

    label: str
    unit: str
    #: True: the figure must stay at or below the limit; False: at or above it
    upper: bool


FIGURES: dict[str, Figure] = {
    "p99_us": Figure("p99", "us", upper=True),
    "failure_ratio": Figure("failure ratio", "", upper=True),
    "rps": Figure("requests/s", "", upper=False),
    "cpu_us_per_request": Figure("target CPU per request", "us", upper=True),
}


@dataclass(frozen=True)
class Figures:
    """A run's figures the thresholds read; None where the run did not measure one."""

    p99_us: float | None = None
    failure_ratio: float | None = None
    rps: float | None = None
    cpu_us_per_request: float | None = None

    @classmethod
    def from_latency_json(cls, result: Mapping[str, Any]) -> Figures:
        """The figures of a latency JSON (engine.latency_json): total over every name."""
        requests = int(result.get("requests") or 0)
        cpu = result.get("target_cpu_us_per_request")
        return cls(
            p99_us=float(result["latency_us"]["p99"]) if requests else None,
            failure_ratio=int(result["failures"]) / requests if requests else None,
            rps=float(result["rps"]) if requests else None,
            cpu_us_per_request=float(cpu) if cpu is not None else None,
        )


@dataclass(frozen=True)
class Threshold:
    figure: str
    limit: float
    #: the option (or setting) that set it, named in the miss's message
    source: str

    def __post_init__(self) -> None:
        if self.figure not in FIGURES:
            raise ValueError(f"unknown figure {self.figure!r}; known: {', '.join(FIGURES)}")


@dataclass(frozen=True)
class Outcome:
    threshold: Threshold
    measured: float | None

    @property
    def passed(self) -> bool:
        if self.measured is None:
            return False
        if FIGURES[self.threshold.figure].upper:
            return self.measured <= self.threshold.limit
        return self.measured >= self.threshold.limit

    def message(self) -> str:
        """'p99 1,234 us > 1,000 us (--max-p99-us)', or why nothing could be compared."""
        figure = FIGURES[self.threshold.figure]
        source = f"({self.threshold.source})"
        limit = _value(self.threshold.limit, figure)
        if self.measured is None:
            return f"{figure.label}: not measured, limit {limit} {source}"
        # The sign says how the measured figure stands against the limit.
        signs = ("<=", ">") if figure.upper else (">=", "<")
        sign = signs[0] if self.passed else signs[1]
        return f"{figure.label} {_value(self.measured, figure)} {sign} {limit} {source}"

    def as_dict(self) -> dict[str, Any]:
        """The latency JSON's "thresholds" entry."""
        return {
            "figure": self.threshold.figure,
            "limit": self.threshold.limit,
            "measured": self.measured,
            "passed": self.passed,
            "source": self.threshold.source,
        }


def _value(value: float, figure: Figure) -> str:
    text = f"{value:,.4g}" if value < 1 else f"{value:,.1f}".removesuffix(".0")
    return f"{text} {figure.unit}" if figure.unit else text


def check(thresholds: Iterable[Threshold], figures: Figures) -> list[Outcome]:
    """Each threshold's outcome against the run's figures, in the order given."""
    return [Outcome(t, getattr(figures, t.figure)) for t in thresholds]


def missed(outcomes: Iterable[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not o.passed]
