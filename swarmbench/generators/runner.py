"""Running a generator on this machine: the registry of the three, the tool check, one run."""

from __future__ import annotations

import resource
import shutil
import subprocess
import time
from pathlib import Path

from swarmbench.errors import UsageError
from swarmbench.generators.ab import Ab
from swarmbench.generators.locust import Locust
from swarmbench.generators.spec import Generator, GeneratorRun, LoadSpec
from swarmbench.generators.wrk import Wrk
from swarmbench.util import processes

#: Generator processes get this long past their planned run before they are killed.
GRACE_S = 60.0

GENERATORS: dict[str, Generator] = {g.name: g for g in (Locust(), Wrk(), Ab())}


def by_name(name: str) -> Generator:
    if name not in GENERATORS:
        raise UsageError(f"unknown generator {name!r}; known: {', '.join(GENERATORS)}")
    return GENERATORS[name]


def require_tool(generator: Generator) -> None:
    if generator.tool != "locust" and shutil.which(generator.tool) is None:
        package = {"wrk": "wrk", "ab": "apache2-utils"}[generator.tool]
        raise UsageError(f"{generator.tool} not found: apt-get install {package}")


def _planned_s(spec: LoadSpec) -> float:
    return max(spec.duration_s, spec.time_limit_s or 0.0)


def run_local(generator: Generator, spec: LoadSpec, workdir: Path) -> GeneratorRun:
    """Run one measurement; the generator's CPU time comes from the kernel's child rusage."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = generator.command(spec, workdir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = processes.spawn(
        cmd, cpus=spec.cpus, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=_planned_s(spec) + GRACE_S)
    except subprocess.TimeoutExpired:
        # The whole group: Locust's forked workers too, not only the process that started them.
        processes.stop(proc, timeout=0)
        stdout, stderr = proc.communicate()
        raise RuntimeError(f"{generator.name} did not finish in time") from None
    finally:
        processes.stop(proc)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    (workdir / f"{generator.name}.out").write_text(stdout + "\n--- stderr ---\n" + stderr)
    try:
        result = generator.parse(stdout, workdir)
    except (ValueError, KeyError, OSError) as exc:
        tail = (stderr or stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{generator.name} gave no result ({exc}): {' | '.join(tail)}") from None
    result.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result.wall_s = time.monotonic() - started
    result.command = cmd
    return result
