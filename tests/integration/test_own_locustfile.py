"""`swarmbench bench --locustfile FILE --user-class NAME`: the user's class in the Locust cells.

The user's locustfile is loaded beside locustfiles/http.py; its class runs once per system
(keep-alive on: the class handles its own connections), and the cell records which class ran.
A class that is not in the file is one line and exit 2, naming the classes Locust found.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from swarmbench.util import paths

EXAMPLES = paths.ROOT / "deploy" / "examples"

#: A locustfile of the user's own, built on swarmbench's users (counted by its measurement).
MINE = '''
from swarmbench.engine.users import KeepAliveUser


class ApiUser(KeepAliveUser):
    """The team's API client, as swarmbench's keep-alive user."""
'''


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "swarmbench", "bench", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def test_the_users_class_runs_in_the_locust_cells(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text(MINE)
    out = tmp_path / "run"
    proc = _bench(
        "--systems", "rust-std", "--generators", "locust", "--keepalive", "on,off",
        "--duration", "2s", "--warmup", "1s", "--users", "8",
        "--locustfile", str(mine), "--user-class", "ApiUser", "--out", str(out),
        "--rounds", "1", "--same-traffic", "50",  # one round, one same-traffic step
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    on = json.loads((out / "cells" / "rust-std.keepalive-on.locust.json").read_text())
    assert on["verdict"] in ("ok", "generator-bound") and on["requests"] > 0, on["verdict"]
    assert on["conditions"]["user_class"] == "ApiUser"
    assert on["conditions"]["locustfile"] == str(mine)
    details = next(e["generator_command"] for e in on["events"] if "generator_command" in e)
    assert f"{mine},{paths.ROOT / 'locustfiles' / 'http.py'}" in details and "ApiUser" in details
    off = json.loads((out / "cells" / "rust-std.keepalive-off.locust.json").read_text())
    assert off["verdict"].startswith("skipped: ApiUser (--locustfile) handles its own connections")
    run = json.loads((out / "run.json").read_text())
    assert run["parameters"]["user_class"] == "ApiUser"
    assert "user class ApiUser" in (out / "report.md").read_text()


def test_a_class_not_in_the_locustfile_is_one_line(tmp_path: Path) -> None:
    mine = tmp_path / "mine.py"
    mine.write_text(MINE)
    proc = _bench("--locustfile", str(mine), "--user-class", "NoSuchUser")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "--user-class 'NoSuchUser' is not a User class" in line and "ApiUser" in line
    proc = _bench("--locustfile", str(mine))
    assert proc.returncode == 2 and "--locustfile and --user-class go together" in proc.stderr


def test_a_plain_locust_locustfile_is_reported_by_request_name(tmp_path: Path) -> None:
    """deploy/examples/locustfile.py, FastHttpUser with two request names, written for plain
    Locust: its requests are counted, and the report has each name's microsecond latency."""
    out = tmp_path / "run"
    proc = _bench(
        "--targets", str(EXAMPLES / "targets.toml"), "--systems", "asgi-hello",
        "--generators", "locust", "--keepalive", "on", "--duration", "2s", "--warmup", "1s",
        "--users", "4", "--locustfile", str(EXAMPLES / "locustfile.py"),
        "--user-class", "ShopUser", "--out", str(out),
        "--rounds", "1", "--same-traffic", "50",  # one round, one same-traffic step
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    cell = json.loads((out / "cells" / "asgi-hello.keepalive-on.locust.json").read_text())
    assert cell["verdict"] in ("ok", "generator-bound"), cell["verdict"]
    names = {entry["name"]: entry for entry in cell["by_name"]}
    assert set(names) == {"home", "search"}, names
    assert sum(e["requests"] for e in names.values()) == cell["requests"]
    for entry in names.values():
        assert entry["requests"] > 0 and entry["latency_us"]["p99"] > 0
    report = (out / "report.md").read_text()
    section = report.split("## Latency by request name: ShopUser", 1)[1].split("\n## ", 1)[0]
    assert "| asgi-hello | keep-alive on | GET home |" in section
    assert "| asgi-hello | keep-alive on | GET search |" in section
