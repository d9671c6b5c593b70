"""The published figures the report compares with: swarmbench/report/article-2025.toml.

The project keeps its own copy of the article's numbers (package data, source cited in the file's
header), so a report never depends on a web page still being there.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

ARTICLE_FILE = "article-2025.toml"
#: What every published and measured table is normalised to, as the article's own winner.
BASELINE = "tokio"


@dataclass(frozen=True)
class Published:
    """The article's figures: requests/s per generator, mode and system."""

    #: rps[generator]["on" | "off"][system]
    rps: dict[str, dict[str, dict[str, float]]]
    latency_ms: dict[str, float]
    production: dict[str, Any]
    systems: dict[str, dict[str, str]]
    #: the file's leading comment: source, method, machine
    header: list[str] = field(default_factory=list)
    #: failed requests per system of ab's keep-alive run (of ab_requests)
    ab_failures: dict[str, int] = field(default_factory=dict)
    ab_requests: int = 1_000_000

    def figures(self, generator: str, mode: str) -> dict[str, float]:
        return self.rps.get(generator, {}).get(mode, {})

    @property
    def generators(self) -> list[str]:
        return list(self.rps)

    @property
    def source(self) -> str:
        """The citation line(s) of the header, joined."""
        lines = []
        for line in self.header:
            if line.startswith(("Method", "Facts")):
                break
            lines.append(line)
        text = " ".join(lines)
        return text.removeprefix("Published figures of the ")


def _header(text: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        stripped = line.lstrip("#").strip()
        if stripped:
            lines.append(stripped)
    return lines


def parse(text: str) -> Published:
    data = tomllib.loads(text)
    rps: dict[str, dict[str, dict[str, float]]] = {}
    latency: dict[str, float] = {}
    for generator in ("wrk", "ab"):
        modes = data.get(generator, {})
        rps[generator] = {}
        for mode in ("on", "off"):
            table = modes.get(f"keepalive_{mode}", {})
            rps[generator][mode] = {k: float(v) for k, v in table.items()}
        if generator == "wrk":
            latency = {k: float(v) for k, v in modes.get("keepalive_on_latency_ms", {}).items()}
    failures = data.get("ab", {}).get("keepalive_on_failures", {})
    return Published(
        rps=rps,
        latency_ms=latency,
        production=dict(data.get("production", {})),
        systems=dict(data.get("systems", {})),
        header=_header(text),
        ab_failures={k: int(v) for k, v in failures.items()},
    )


def load() -> Published:
    text = resources.files("swarmbench.report").joinpath(ARTICLE_FILE).read_text("utf-8")
    return parse(text)


def normalise(
    values: dict[str, float | None], baseline: str = BASELINE
) -> tuple[str | None, dict[str, float | None]]:
    """Each value divided by the baseline's; the fastest stands in when the baseline is missing.

    Returns the name actually used (None when nothing was measured) and the ratios.
    """
    usable = {k: v for k, v in values.items() if v is not None and v > 0}
    if not usable:
        return None, {k: None for k in values}
    base = baseline if baseline in usable else max(usable, key=lambda k: usable[k])
    ref = usable[base]
    return base, {k: (v / ref if v is not None and v > 0 else None) for k, v in values.items()}
