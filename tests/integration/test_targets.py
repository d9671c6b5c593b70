"""Every registry target builds, starts on a free port, passes every check, and stops."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from swarmbench import registry, targetproc
from swarmbench.verify import extra_headers, verify


@pytest.mark.parametrize("name", registry.names())
def test_target_passes_verification(
    name: str, target_server: Callable[..., targetproc.RunningTarget]
) -> None:
    server = target_server(name, threads=2)
    checks = verify(server.url)
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert not failed, f"{name} failed: {failed}"
    # The registry must name exactly what the server adds beyond the contract.
    assert sorted(extra_headers(checks)) == sorted(server.target.extra_headers)
    server.stop()
    assert server.proc.poll() is not None
