"""Building the target servers: toolchain checks, up-to-date stamps, one build per system."""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from swarmbench.errors import UsageError
from swarmbench.targets.registry import Target
from swarmbench.util import paths, processes

#: A cold Rust build of one server takes minutes here; an hour means something is stuck.
BUILD_TIMEOUT_S = 3600.0
VERSION_TIMEOUT_S = 30.0

log = logging.getLogger(__name__)

INSTALL_HINTS = {
    "cargo": "apt-get install cargo-web (Debian 12: Rust 1.96), or Rust from https://rustup.rs",
    "go": "install Go >= 1.22 (https://go.dev/dl)",
    "node": "install Node.js >= 18 (Debian: apt-get install nodejs)",
}
#: Build outputs kept inside a source folder by some tools; never part of the stamp.
IGNORED_PARTS = frozenset({"target", "node_modules", "__pycache__"})


@dataclass(frozen=True)
class BuildResult:
    name: str
    built: bool  # False: it was up to date
    seconds: float


def require_toolchain(target: Target) -> None:
    if target.external:
        return
    if shutil.which(target.toolchain) is None:
        hint = INSTALL_HINTS.get(target.toolchain, "install it")
        raise UsageError(f"{target.name} needs {target.toolchain!r}, not found on PATH: {hint}")


def _toolchain_version(tool: str) -> str:
    args = [tool, "version"] if tool == "go" else [tool, "--version"]
    return str(processes.run(args, timeout=VERSION_TIMEOUT_S, text=True).stdout).strip()


def source_stamp(target: Target) -> str:
    """A hash of everything the artefact depends on: sources, build command, toolchain."""
    digest = hashlib.sha256()
    for folder in (target.source, *target.shared_sources):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            rel = path.relative_to(folder.parent)
            if path.is_file() and not IGNORED_PARTS.intersection(rel.parts):
                digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update("\0".join(target.build_command()).encode())
    digest.update(_toolchain_version(target.toolchain).encode())
    return digest.hexdigest()


def _stamp_file(target: Target) -> Path:
    return paths.build_dir() / "stamps" / f"{target.name}.sha256"


def is_up_to_date(target: Target) -> bool:
    stamp = _stamp_file(target)
    return (
        target.artefact.exists()
        and stamp.exists()
        and stamp.read_text().strip() == source_stamp(target)
    )


def build(target: Target, force: bool = False) -> BuildResult:
    started = time.monotonic()
    if target.external:  # it runs already, somewhere swarmbench does not build
        return BuildResult(target.name, built=False, seconds=0.0)
    require_toolchain(target)
    if not force and is_up_to_date(target):
        return BuildResult(target.name, built=False, seconds=time.monotonic() - started)
    command = target.build_command()
    if command:
        paths.build_dir().mkdir(parents=True, exist_ok=True)
        log.debug("building %s: %s", target.name, " ".join(command))
        try:
            proc = processes.run(command, timeout=BUILD_TIMEOUT_S, text=True)
        except subprocess.TimeoutExpired:
            raise UsageError(
                f"building {target.name} took over {BUILD_TIMEOUT_S:g} s ({' '.join(command)})"
            ) from None
        if proc.returncode != 0:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
            raise UsageError(f"building {target.name} failed ({' '.join(command)}):\n{tail}")
    if not target.artefact.exists():
        raise UsageError(f"building {target.name} did not produce {target.artefact}")
    stamp = _stamp_file(target)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(source_stamp(target) + "\n")
    return BuildResult(target.name, built=True, seconds=time.monotonic() - started)
