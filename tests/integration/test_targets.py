"""Every registry target builds, starts on a free port, passes every check, and stops."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from swarmbench.targets import process, registry
from swarmbench.targets.verify import deviations, extra_headers, verify
from swarmbench.util import paths


@pytest.mark.parametrize("name", registry.names())
def test_target_passes_verification(
    name: str, target_server: Callable[..., process.RunningTarget]
) -> None:
    server = target_server(name, threads=2)
    checks = verify(server.url)
    # A variant kept as published (node-std-published) fails the checks its entry names, and
    # those for real: a deviation that no longer shows is stale.
    found = deviations(checks, server.target.known_deviations)
    assert not found.beyond, f"{name} failed: {[f'{c.name}: {c.detail}' for c in found.beyond]}"
    assert not found.stale, f"{name}: known deviations passed: {found.stale}"
    # The registry must name exactly what the server adds beyond the contract (a variant with
    # known deviations: at least what was seen, as its failing checks' responses are cut short).
    seen, declared = set(extra_headers(checks)), set(server.target.extra_headers)
    exact = not server.target.known_deviations
    assert seen == declared if exact else seen <= declared, (sorted(seen), sorted(declared))
    server.stop()
    assert server.proc.poll() is not None


def test_shared_rust_scanner_passes_its_unit_tests() -> None:
    """The scanner tokio and rust-std share has its own cargo tests (no dependencies: fast)."""
    manifest = paths.ROOT / "deploy" / "targets" / "rust-common" / "Cargo.toml"
    cmd = ["cargo", "test", "--quiet", "--manifest-path", str(manifest)]
    cmd += ["--target-dir", str(paths.build_dir() / "cargo")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
