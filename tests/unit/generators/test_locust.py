"""The Locust generator with the user's locustfile: what it loads, runs and points at."""

from __future__ import annotations

from pathlib import Path

from swarmbench.generators.locust import LOCUSTFILE, Locust
from swarmbench.generators.spec import LoadSpec


def _spec(url: str, keepalive: bool = True) -> LoadSpec:
    return LoadSpec(url=url, keepalive=keepalive, connections=4, duration_s=2)


def test_the_users_class_gets_a_host_its_paths_join() -> None:
    mine = Locust(Path("/srv/shop.py"), "ShopUser")
    assert mine.host(_spec("http://127.0.0.1:8080/")) == "http://127.0.0.1:8080"
    assert mine.host(_spec("http://127.0.0.1:8080/api/")) == "http://127.0.0.1:8080/api/"
    assert Locust().host(_spec("http://127.0.0.1:8080/")) == "http://127.0.0.1:8080/"


def test_the_users_locustfile_comes_first_and_its_class_runs_once(tmp_path: Path) -> None:
    mine = Locust(Path("/srv/shop.py"), "ShopUser")
    cmd = mine.command(_spec("http://127.0.0.1:8080/"), tmp_path)
    assert cmd[cmd.index("-f") + 1] == f"/srv/shop.py,{LOCUSTFILE}" and cmd[-1] == "ShopUser"
    assert mine.supports(_spec("http://h/", keepalive=False)) is not None
    assert Locust().supports(_spec("http://h/", keepalive=False)) is None
    assert Locust().user_class(_spec("http://h/", keepalive=False)) == "CloseUser"
