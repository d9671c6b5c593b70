"""`python -m swarmbench.cluster.loadgen SPEC_JSON GENERATOR`: one wrk or ab run, as JSON.

The cluster bench runs its wrk and ab cells on a worker host over SSH with this, so the host's
installed swarmbench parses the tool's output exactly as a local run does (run_local),
and only a small JSON result crosses the network. Not a user command: no CLI entry.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from swarmbench.generators.runner import by_name, require_tool, run_local
from swarmbench.generators.spec import GeneratorRun, LoadSpec


def spec_json(spec: LoadSpec) -> str:
    """The spec for the remote side; no CPU pinning there (the host is the generator's own)."""
    return json.dumps({**dataclasses.asdict(spec), "cpus": []})


def result_from_json(text: str) -> GeneratorRun:
    return GeneratorRun(**json.loads(text))


def run(spec_text: str, name: str) -> dict[str, Any]:
    data = json.loads(spec_text)
    data["cpus"] = tuple(data.get("cpus", ()))
    spec = LoadSpec(**data)
    generator = by_name(name)
    require_tool(generator)
    workdir = Path(tempfile.mkdtemp(prefix="swarmbench-loadgen-"))
    try:
        return dataclasses.asdict(run_local(generator, spec, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 2:  # SPEC_JSON GENERATOR
        print("usage: python -m swarmbench.cluster.loadgen SPEC_JSON GENERATOR", file=sys.stderr)
        return 2
    try:
        result = run(argv[0], argv[1])
    except Exception as exc:  # one line for the controller, whatever went wrong
        print(f"loadgen: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
