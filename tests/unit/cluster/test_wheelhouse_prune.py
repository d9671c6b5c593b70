"""Old wheelhouses go, but never one a playbook run used lately (several checkouts build here)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from swarmbench.cluster import wheelhouse


def _tar(directory: Path, name: str, age_s: float) -> Path:
    path = directory / f"wheelhouse-{name}.tar"
    path.write_bytes(b"")
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def test_prune_keeps_the_newest_and_those_used_within_the_hour(tmp_path: Path) -> None:
    day = 86_400
    stale = [_tar(tmp_path, f"old{i}", day + i) for i in range(3)]
    recent = [_tar(tmp_path, f"recent{i}", 60 * (i + 1)) for i in range(4)]
    kept = _tar(tmp_path, "current", 2 * day)
    wheelhouse._prune(tmp_path, kept)
    left = set(tmp_path.glob("*.tar"))
    assert left == {kept, *recent}, sorted(p.name for p in left)
    assert not any(path.exists() for path in stale)


def test_prune_keeps_the_last_three_used_however_old(tmp_path: Path) -> None:
    day = 86_400
    tars = [_tar(tmp_path, f"t{i}", day * (i + 1)) for i in range(5)]
    wheelhouse._prune(tmp_path, tars[4])
    assert set(tmp_path.glob("*.tar")) == {tars[0], tars[1], tars[2], tars[4]}
