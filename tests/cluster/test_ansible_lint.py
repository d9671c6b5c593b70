"""ansible-lint keeps the playbook and roles clean (production profile, offline)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_LINT = Path(sys.executable).parent / "ansible-lint"


def test_playbooks_pass_ansible_lint(tmp_path: Path) -> None:
    lint = str(ANSIBLE_LINT) if ANSIBLE_LINT.exists() else shutil.which("ansible-lint")
    if lint is None:
        pytest.fail("ansible-lint is not installed: make venv installs the dev extras")
    proc = subprocess.run(
        [lint, "--offline", "--nocolor", "--profile", "production", "playbooks/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        # Its cache stays out of the checkout and out of the user's home.
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
