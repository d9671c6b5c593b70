"""`make toolchains` on a machine without rustup's cargo: Debian's own is installed and builds.

The Makefile puts rustup's and the Go tarball's folders first on PATH; TOOL_PATHS= leaves them
out, so make sees what a fresh Debian machine has. cargo-web (Rust 1.96) is installed by apt
the first time; the test then builds rust-std with it, so the toolchain is proved, not assumed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from swarmbench.util import paths

DEBIAN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/etc/debian_version").exists(),
    reason="make installs Debian's toolchains only as root on Debian",
)


def _make(tmp_path: Path, tool_paths: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": DEBIAN_PATH, "HOME": str(tmp_path)}
    return subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(paths.ROOT),
            "toolchains",
            f"TOOL_PATHS={tool_paths}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_missing_cargo_is_installed_from_debian_and_builds_a_server(tmp_path: Path) -> None:
    # Without Go on PATH, make installs what Debian has and then names Go, with how to get it.
    proc = _make(tmp_path, "")
    if shutil.which("go", path=DEBIAN_PATH) is None:
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "go not found; install Go >= 1.22" in proc.stdout + proc.stderr
    cargo = shutil.which("cargo", path=DEBIAN_PATH)
    assert cargo is not None, proc.stdout + proc.stderr
    version = subprocess.run([cargo, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("cargo 1."), version.stdout
    build = subprocess.run(
        [
            cargo,
            "build",
            "--release",
            "--locked",
            "--quiet",
            "--offline",
            "--manifest-path",
            str(paths.ROOT / "deploy/targets/rust-std/Cargo.toml"),
            "--target-dir",
            str(tmp_path / "cargo"),
        ],
        env={**os.environ, "PATH": DEBIAN_PATH, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    assert (tmp_path / "cargo" / "release" / "sb-rust-std").exists()


def test_toolchains_pass_once_go_is_on_the_path(tmp_path: Path) -> None:
    go_bin = Path("/usr/local/go/bin")
    if not (go_bin / "go").exists() and shutil.which("go", path=DEBIAN_PATH) is None:
        pytest.skip("this machine has no Go to put on the path")
    proc = _make(tmp_path, str(go_bin))
    assert proc.returncode == 0, proc.stdout + proc.stderr
