import argparse

import pytest

from swarmbench.util import options

SPAN = options.duration(options.CELL_SECONDS)
COUNT = options.whole(options.Limit(100, "a hundred is plenty"))
RATE = options.real(options.Limit(1000, "a thousand is plenty"))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10", 10), ("10s", 10), ("2m", 120), ("1m30s", 90), ("1h", 3600), ("0.5s", 0.5)],
)
def test_duration_accepts_spans(text: str, seconds: float) -> None:
    assert SPAN(text) == seconds


@pytest.mark.parametrize("text", ["10x", "", "s", "-1", "0", "m", "1.5m", "7h", "inf", "1e400"])
def test_duration_rejects_garbage_and_the_too_long(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        SPAN(text)


@pytest.mark.parametrize("text", ["0", "-3", "x", "1.5", "101", "inf", "²", "1_0", "1e2"])
def test_whole_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        COUNT(text)


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "-inf", "1e400", "1001", "1_0", "x"])
def test_real_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        RATE(text)


def test_the_ceiling_says_why() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="at most 100: a hundred is plenty"):
        COUNT("101")
    assert COUNT(" 100 ") == 100
    assert RATE("2.5e2") == 250.0


def test_an_environment_value_is_named_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWARMBENCH_TEST_COUNT", "lots")
    value = options.env("TEST_COUNT", "1")
    assert value == "lots"
    with pytest.raises(argparse.ArgumentTypeError, match="SWARMBENCH_TEST_COUNT='lots'"):
        COUNT(str(value) if value is None else value)
    assert "SWARMBENCH_TEST_COUNT" in options.ENV_NAMES
    monkeypatch.delenv("SWARMBENCH_TEST_COUNT")
    assert options.env("TEST_COUNT", "1") == "1"


def test_number_list_checks_each_item_and_the_count() -> None:
    counts = options.NumberList(COUNT, options.Limit(3, "three runs"))
    assert counts("1, 2,3") == [1, 2, 3]
    for bad in ("", "1,0", "1,x", "1,2,3,4"):
        with pytest.raises(argparse.ArgumentTypeError):
            counts(bad)


@pytest.mark.parametrize(
    "text", ["https://127.0.0.1/", "ftp://x/", "127.0.0.1:80", "http://", "http://h:99999/"]
)
def test_http_url_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        options.http_url(text)


def test_http_url_accepts() -> None:
    assert options.http_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/"
