"""How the bench reaches the master's UI, from the inventory: the master role's defaults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from swarmbench.cluster import inventory, loadgen, web_access
from swarmbench.errors import UsageError
from swarmbench.generators.spec import LoadSpec


def _inventory(master_vars: dict[str, Any]) -> inventory.Inventory:
    members = (("master", "m1"), ("workers", "w1"), ("targets", "t1"), ("monitor", "mon1"))
    groups = {group: {"hosts": [host]} for group, host in members}
    data = {**groups, "_meta": {"hostvars": {"m1": master_vars}}}
    return inventory.check(Path("inv.ini"), data)


def test_by_default_a_login_with_the_generated_password_and_no_tls() -> None:
    access = web_access.from_inventory(_inventory({}))
    assert access.user == "swarmbench"
    assert access.password_file == Path("~/.config/swarmbench/locust-web-password").expanduser()
    assert access.cert is None and access.scheme == "http"


def test_beyond_loopback_the_fetched_certificate_is_pinned(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    access = web_access.from_inventory(
        _inventory({"master_web_host": "10.0.0.10", "master_web_password_file": str(password)})
    )
    assert access.scheme == "https"
    assert access.cert == tmp_path / "locust-web-m1.crt"
    own = web_access.from_inventory(
        _inventory({"master_web_host": "10.0.0.10", "master_tls_cert": "/etc/ssl/ui.crt"})
    )
    assert own.cert == Path("/etc/ssl/ui.crt")
    with pytest.raises(UsageError, match="playbook fetches it"):
        access.opener()


def test_login_off_means_no_login() -> None:
    access = web_access.from_inventory(_inventory({"master_web_login": "false"}))
    assert access.user is None and access.password_file is None


def test_loadgen_refuses_a_url_its_hosts_allowlist_does_not_list(tmp_path: Path) -> None:
    allowlist = tmp_path / "target-allowlist"
    allowlist.write_text("198.18.0.14:8080\n")
    spec = LoadSpec("http://203.0.113.5:8080/", keepalive=True, connections=1, duration_s=1)
    text = json.dumps({**json.loads(loadgen.spec_json(spec))})
    with pytest.raises(UsageError, match="not in the target allowlist"):
        loadgen.run(text, "wrk", str(allowlist))
