"""`make test`'s skip policy (tests/conftest.py): a skip not in ALLOWED_SKIPS fails the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROBE_VAR = "SWARMBENCH_TEST_SKIP_PROBE"


def test_probe() -> None:
    """Skips only when the policy test below asks it to (as a broken set-up would)."""
    if os.environ.get(PROBE_VAR):
        pytest.skip("no sshd on this machine (a probe)")


@pytest.mark.skipif(bool(os.environ.get(PROBE_VAR)), reason="the probe's own run")
@pytest.mark.parametrize(("strict", "code"), [(True, 1), (False, 0)])
def test_an_unexpected_skip_fails_make_tests_run(strict: bool, code: int) -> None:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"]
    cmd += [f"{Path(__file__)}::test_probe"]
    cmd += ["--no-unexpected-skips"] if strict else []
    env = dict(os.environ, **{PROBE_VAR: "1"})
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == code, proc.stdout[-2000:]
    assert "no sshd on this machine (a probe)" in proc.stdout  # -rs lists it either way
    if strict:
        assert "skips this machine should not have" in proc.stdout
