"""`python -m swarmbench.cluster.loadgen SPEC_JSON GENERATOR [--watch-stdin]`: one wrk or ab run.

The cluster bench runs its wrk and ab cells on a worker host over SSH with this, so the host's
installed swarmbench parses the tool's output exactly as a local run does (run_local),
and only a small JSON result crosses the network. Not a user command: no CLI entry.

With --watch-stdin the run ends when stdin does: the controller's ssh holds it open for the
run, so a bench stopped however (Ctrl-C, a timeout, SIGKILL and its reaper) or a dropped
connection stops the tool on the worker host too, not only the local ssh.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from swarmbench.generators.runner import by_name, require_tool, run_local
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.util import processes

#: The controller's flag: end the run when stdin ends (see the module docstring).
WATCH_STDIN = "--watch-stdin"


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


def _end_with_stdin() -> None:
    """SIGTERM this process once stdin ends; run_local's `finally` then stops the tool."""

    def watch() -> None:
        # os.read, not sys.stdin: a daemon thread blocked in a buffered read holds its lock,
        # and the interpreter aborts at exit when it finds the lock taken.
        with contextlib.suppress(OSError):
            while os.read(0, 4096):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[2:] not in ([], [WATCH_STDIN]):
        usage = f"usage: python -m swarmbench.cluster.loadgen SPEC_JSON GENERATOR [{WATCH_STDIN}]"
        print(usage, file=sys.stderr)
        return 2
    processes.install_signal_handlers()
    if argv[2:] == [WATCH_STDIN]:
        _end_with_stdin()
    try:
        result = run(argv[0], argv[1])
    except KeyboardInterrupt as exc:
        print(f"loadgen: stopped ({exc or 'SIGINT'})", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the controller, whatever went wrong
        print(f"loadgen: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
