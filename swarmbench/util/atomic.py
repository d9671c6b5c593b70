"""Atomic file writes: readers see the old file or the new one, never half of either.

A write goes to a temporary file in the same folder, is fsynced, renamed into place, and then
the folder itself is fsynced, so the rename survives a power cut too. The file gets the usual
permissions (0644 less the umask), not mkstemp's private 0600: results are meant to be read.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from swarmbench.errors import UsageError

#: What open() would give a new file; the process umask still applies.
FILE_MODE = 0o644


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_text(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, fsync it, rename it, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_json(path: Path, data: Any) -> None:
    """JSON with sorted keys; NaN and infinities are refused (they are not JSON)."""
    text = json.dumps(data, indent=2, sort_keys=True, default=str, allow_nan=False)
    write_text(path, text + "\n")


def ensure_writable(folder: Path, what: str) -> None:
    """Fail with one line before any work if `folder` cannot be created or written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"cannot write {what} to {folder}: {reason}") from None
