"""Resuming a results folder: only with the parameters, version and machine that started it.

A rerun with the same --out skips the cells already finished (and runs failed ones again unless
--keep-failed). Mixing cells measured under other conditions would make the report compare what
is not comparable, so a rerun whose parameters, swarmbench version, backend or machine differ
from run.json's is refused with one line naming each difference, unless --resume-anyway; then
run.json records the resume and what differed.
"""

from __future__ import annotations

import json
import platform
import time
from typing import Any

from swarmbench import __version__
from swarmbench.bench.matrix import BenchConfig
from swarmbench.errors import UsageError
from swarmbench.results import RunDir, RunRecord

#: Parameters that name the folder rather than what was measured.
NOT_COMPARED = frozenset({"out", "run_id"})
#: Dotted keys that only describe another one (the profile's prose).
NOT_COMPARED_KEYS = frozenset({"profile.description"})
#: How much of one value a difference quotes.
VALUE_CHARS = 40


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; lists and tuples compared whole (JSON's view of them)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out |= _flat(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    return {prefix: json.loads(json.dumps(value, default=str))}


def _text(value: Any) -> str:
    text = "unset" if value is None else json.dumps(value, default=str).strip('"')
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def differences(record: RunRecord, config: BenchConfig, backend: dict[str, Any]) -> list[str]:
    """What differs between the folder's run.json and this rerun, one phrase each."""
    stored = {k: v for k, v in record.raw.get("parameters", {}).items() if k not in NOT_COMPARED}
    current = {k: v for k, v in config.as_dict().items() if k not in NOT_COMPARED}
    old, new = _flat(stored), _flat(current)
    found = [
        f"{key} {_text(old.get(key))} -> {_text(new.get(key))}"
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key) and key not in NOT_COMPARED_KEYS
    ]
    if record.written_by != __version__:
        found.append(f"swarmbench {record.written_by} -> {__version__}")
    for key, value in backend.items():
        if record.raw.get(key) != value:
            found.append(f"{key} {_text(record.raw.get(key))} -> {_text(value)}")
    host = record.machine.hostname
    if host and host != platform.node():
        found.append(f"machine {host} -> {platform.node()}")
    return found


def check(rundir: RunDir, config: BenchConfig, backend: dict[str, Any], anyway: bool) -> list[str]:
    """The differences a resume accepts ([] for a new folder); UsageError unless `anyway`."""
    if not rundir.run_file.exists():
        return []
    found = differences(rundir.read_run(), config, backend)
    if found and not anyway:
        raise UsageError(
            f"{rundir.path} holds a run made under other conditions ({'; '.join(found)}): "
            "rerun with its options, choose another --out, or add --resume-anyway to mix them"
        )
    return found


def record(rundir: RunDir, accepted: list[str]) -> None:
    """Note in run.json that this resume mixed in cells measured under other conditions."""
    if not accepted:
        return
    raw = rundir.read_run().raw
    resumed = list(raw.get("resumed") or [])
    resumed.append(
        {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "swarmbench_version": __version__,
            "differences": accepted,
        }
    )
    rundir.write_run({**raw, "resumed": resumed})
