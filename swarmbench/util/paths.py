"""Where swarmbench finds its source tree and puts what it builds."""

from __future__ import annotations

import os
from pathlib import Path

#: The checkout: deploy/, grafana/, locustfiles/ are read from here.
ROOT = Path(os.environ.get("SWARMBENCH_ROOT", Path(__file__).resolve().parents[2]))


def build_dir() -> Path:
    """Build outputs live outside the source tree so a fresh clone reuses them."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "swarmbench"
    return Path(os.environ.get("SWARMBENCH_BUILD_DIR", default / "build"))


def registry_file() -> Path:
    return ROOT / "deploy" / "targets.toml"
