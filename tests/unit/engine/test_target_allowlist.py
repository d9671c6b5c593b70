"""The target allowlist: what it parses, what it allows, and how it says no."""

from __future__ import annotations

from pathlib import Path

import pytest

from swarmbench.engine.target_allowlist import Allowlist, refused_hosts
from swarmbench.errors import UsageError

LIST = """
# the targets group, as the playbook writes it
198.18.13.14:8080
[fd00::14]:8080
10.0.0.30           # any port
sut.example:8080
"""


@pytest.fixture
def allowlist() -> Allowlist:
    return Allowlist.parse(LIST, "targets.allow")


@pytest.mark.parametrize(
    "url",
    [
        "http://198.18.13.14:8080/",
        "http://198.18.13.14:8080/x?y=1",
        "http://[fd00:0::14]:8080/",  # the same IPv6 address, spelled longer
        "http://10.0.0.30/",
        "https://10.0.0.30:9443/",
        "http://SUT.example:8080/",
    ],
)
def test_listed_addresses_are_allowed(allowlist: Allowlist, url: str) -> None:
    assert allowlist.refusal(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://198.18.13.14:8081/",  # another port
        "http://198.18.13.14/",  # port 80 by default
        "http://198.18.13.15:8080/",
        "http://sut.example.evil.com:8080/",
        "http://user@198.18.13.99:8080/",
        "http://127.0.0.1:8080/",
        "ftp://198.18.13.14:8080/",  # no port by scheme: not an http(s) URL
        "http://198.18.13.14:99999/",
        "not a url",
    ],
)
def test_anything_else_is_refused_with_the_list_named(allowlist: Allowlist, url: str) -> None:
    reason = allowlist.refusal(url)
    assert reason is not None
    if "valid port" not in reason and "not an http" not in reason:
        assert "targets.allow" in reason and "198.18.13.14:8080" in reason, reason


def test_an_empty_list_allows_nothing() -> None:
    empty = Allowlist.parse("# nothing yet\n", "empty")
    assert "empty" in str(empty.refusal("http://198.18.13.14:8080/"))


def test_no_host_is_not_a_refusal_but_a_foreign_host_is(allowlist: Allowlist) -> None:
    assert refused_hosts([None, ""], allowlist) == []
    assert len(refused_hosts(["http://a.example/", "http://a.example/", None], allowlist)) == 1


@pytest.mark.parametrize("line", ["http://198.18.13.14:8080/", "198.18.13.14:x", "a b", "h:0"])
def test_a_malformed_line_is_named(line: str) -> None:
    with pytest.raises(UsageError, match="line 2"):
        Allowlist.parse(f"198.18.13.14:8080\n{line}\n", "f")


def test_reading_a_missing_or_huge_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file"):
        Allowlist.read(tmp_path / "none")
    big = tmp_path / "big"
    big.write_text("10.0.0.1\n" * 10_000)
    with pytest.raises(UsageError, match="over"):
        Allowlist.read(big)
