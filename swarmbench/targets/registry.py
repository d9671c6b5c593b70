"""The target registry, deploy/targets.toml: how to build, run and recognise each server."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from swarmbench.errors import UsageError
from swarmbench.util import paths


@dataclass(frozen=True)
class Target:
    """One server of the benchmark, as the registry describes it."""

    name: str
    language: str
    version: str
    threading: str
    toolchain: str
    build_cmd: tuple[str, ...]
    artefact_tpl: str
    run_tpl: tuple[str, ...]
    extra_headers: tuple[str, ...]
    source: Path
    #: other folders the build reads (a crate shared by several servers)
    shared_sources: tuple[Path, ...] = ()

    def _fill(self, text: str, **extra: object) -> str:
        values = {"source": str(self.source), "build_dir": str(paths.build_dir()), **extra}
        return text.format(**values)

    @property
    def artefact(self) -> Path:
        return Path(self._fill(self.artefact_tpl))

    def build_command(self) -> list[str]:
        return [self._fill(part) for part in self.build_cmd]

    def run_command(self, port: int, threads: int, host: str = "127.0.0.1") -> list[str]:
        return [
            self._fill(part, artefact=self.artefact, host=host, port=port, threads=threads)
            for part in self.run_tpl
        ]

    @property
    def takes_threads(self) -> bool:
        return any("{threads}" in part for part in self.run_tpl)

    def is_built(self) -> bool:
        return self.artefact.exists()


def load(path: Path | None = None) -> dict[str, Target]:
    """Read the registry; the order of the file is the order of every table and matrix."""
    path = path or paths.registry_file()
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    targets: dict[str, Target] = {}
    for name, entry in data["systems"].items():
        targets[name] = Target(
            name=name,
            language=entry["language"],
            version=entry["version"],
            threading=entry["threading"],
            toolchain=entry["toolchain"],
            build_cmd=tuple(entry["build"]),
            artefact_tpl=entry["artefact"],
            run_tpl=tuple(entry["run"]),
            extra_headers=tuple(h.lower() for h in entry.get("extra_headers", [])),
            source=path.parent / "targets" / name,
            shared_sources=tuple(path.parent / "targets" / s for s in entry.get("shared", [])),
        )
    return targets


def names() -> list[str]:
    return list(load())


def get(name: str) -> Target:
    targets = load()
    if name not in targets:
        raise UsageError(f"unknown system {name!r}; known: {', '.join(targets)}")
    return targets[name]


def select(names_: list[str] | None) -> list[Target]:
    """The named targets in the order given, or all of them; unknown names fail together."""
    targets = load()
    if not names_:
        return list(targets.values())
    unknown = [n for n in names_ if n not in targets]
    if unknown:
        raise UsageError(
            f"unknown system {', '.join(map(repr, unknown))}; known: {', '.join(targets)}"
        )
    return [targets[n] for n in names_]


def default_threads() -> int:
    return os.cpu_count() or 1
