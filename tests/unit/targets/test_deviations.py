"""A server's verification against the known deviations its registry entry names."""

from __future__ import annotations

from swarmbench.targets.verify import Check, deviations

CHECKS = [
    Check("status 200", True),
    Check("keep-alive", False, "3/100 on one connection"),
    Check("http/1.0 keep-alive", False, "closed", required=False),
    Check("pipelining", True),
]


def test_a_variant_kept_as_published_fails_exactly_its_known_deviations() -> None:
    found = deviations(CHECKS, ("keep-alive", "http/1.0 keep-alive"))
    assert found.beyond == () and found.stale == () and found.refused == []


def test_a_failure_beyond_them_is_named_and_refuses_only_when_required() -> None:
    found = deviations(CHECKS, ())
    assert [c.name for c in found.beyond] == ["keep-alive", "http/1.0 keep-alive"]
    assert found.refused == ["keep-alive"]  # the optional one decides cells, not the server


def test_a_deviation_the_server_no_longer_shows_is_stale() -> None:
    found = deviations(CHECKS, ("keep-alive", "pipelining", "no such check"))
    assert [c.name for c in found.beyond] == ["http/1.0 keep-alive"]
    assert found.stale == ("pipelining", "no such check")
