"""run.json: the conditions a run was taken under: parameters, machine, placement, versions."""

from __future__ import annotations

import platform
import shutil
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from swarmbench import __version__
from swarmbench.bench.matrix import BenchConfig
from swarmbench.targets import registry
from swarmbench.util import processes
from swarmbench.util.pinning import Placement

PYTHON_PACKAGES = ("locust", "gevent", "pyzmq", "prometheus-client", "psutil", "hdrhistogram")
TOOL_VERSION_ARGS = {
    "cargo": ["cargo", "--version"],
    "rustc": ["rustc", "--version"],
    "go": ["go", "version"],
    "node": ["node", "--version"],
    "wrk": ["wrk", "--version"],
    "ab": ["ab", "-V"],
    "prometheus": ["prometheus", "--version"],
}


def _first_line(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        proc = processes.run(cmd, timeout=20, text=True)
    except subprocess.TimeoutExpired:
        return None
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0] if lines else None


def _cpu_model() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        cpuinfo = ""
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "cpu_model": _cpu_model(),
        "logical_cpus": psutil.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def versions(config: BenchConfig | None = None) -> dict[str, Any]:
    packages: dict[str, str | None] = {}
    for name in PYTHON_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    tools = {name: _first_line(cmd) for name, cmd in TOOL_VERSION_ARGS.items()}
    extra = config.targets_path if config is not None else None
    systems = {t.name: t.version for t in registry.load(extra=extra).values()}
    return {
        "swarmbench": __version__,
        "python_packages": packages,
        "tools": tools,
        "systems": systems,
    }


def run_info(config: BenchConfig, placement: Placement | None) -> dict[str, Any]:
    return {
        "run_id": config.run_id,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "parameters": config.as_dict(),
        "placement": placement.as_dict() if placement else None,
        "machine": machine(),
        "versions": versions(config),
        # What the report says of each system, a user's (--targets) as much as the seven.
        "systems": {name: t.describe() for name, t in config.targets().items()},
        "backend": "local",
    }
