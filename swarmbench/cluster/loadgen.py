"""`python -m swarmbench.cluster.loadgen SPEC_JSON GENERATOR [--watch-stdin] [--allowlist=FILE]`.

The cluster bench runs its wrk and ab cells on a worker host over SSH with this, so the host's
installed swarmbench parses the tool's output exactly as a local run does (run_local),
and only a small JSON result crosses the network. Not a user command: no CLI entry.

With --watch-stdin the run ends when stdin does: the controller's ssh holds it open for the
run, so a bench stopped however (Ctrl-C, a timeout, SIGKILL and its reaper) or a dropped
connection stops the tool on the worker host too, not only the local ssh.

With --allowlist=FILE (the host's target allowlist, which the playbook writes) a URL the file
does not list is refused before the tool starts: wrk and ab load only the targets, as Locust's
workers do.
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

from swarmbench.engine.target_allowlist import Allowlist
from swarmbench.errors import UsageError
from swarmbench.generators.runner import by_name, require_tool, run_local
from swarmbench.generators.spec import GeneratorRun, LoadSpec
from swarmbench.util import processes

#: The controller's flag: end the run when stdin ends (see the module docstring).
WATCH_STDIN = "--watch-stdin"
#: The controller's flag, --allowlist=FILE: load only what the host's target allowlist lists.
ALLOWLIST = "--allowlist="


def spec_json(spec: LoadSpec) -> str:
    """The spec for the remote side; no CPU pinning there (the host is the generator's own)."""
    return json.dumps({**dataclasses.asdict(spec), "cpus": []})


def result_from_json(text: str) -> GeneratorRun:
    return GeneratorRun(**json.loads(text))


def run(spec_text: str, name: str, allowlist: str = "") -> dict[str, Any]:
    data = json.loads(spec_text)
    data["cpus"] = tuple(data.get("cpus", ()))
    spec = LoadSpec(**data)
    if allowlist:
        reason = Allowlist.read(Path(allowlist)).refusal(spec.url)
        if reason:
            raise UsageError(f"refusing to load: {reason}")
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
    flags = argv[2:]
    allowlist = [flag.removeprefix(ALLOWLIST) for flag in flags if flag.startswith(ALLOWLIST)]
    known = len(allowlist) + flags.count(WATCH_STDIN)
    if len(argv) < 2 or known != len(flags) or len(allowlist) > 1:
        usage = f"usage: python -m swarmbench.cluster.loadgen SPEC_JSON GENERATOR [{WATCH_STDIN}]"
        print(f"{usage} [{ALLOWLIST}FILE]", file=sys.stderr)
        return 2
    processes.install_signal_handlers()
    if WATCH_STDIN in flags:
        _end_with_stdin()
    try:
        result = run(argv[0], argv[1], *allowlist)
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
