import argparse

import pytest

from swarmbench.util import options


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("10", 10), ("10s", 10), ("2m", 120), ("1m30s", 90), ("1h", 3600), ("0.5s", 0.5)],
)
def test_duration_accepts_spans(text: str, seconds: float) -> None:
    assert options.duration(text) == seconds


@pytest.mark.parametrize("text", ["10x", "", "s", "-1", "0", "m", "1.5m"])
def test_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        options.duration(text)


@pytest.mark.parametrize("text", ["0", "-3", "x", "1.5"])
def test_positive_int_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        options.positive_int(text)


@pytest.mark.parametrize(
    "text", ["https://127.0.0.1/", "ftp://x/", "127.0.0.1:80", "http://", "http://h:99999/"]
)
def test_http_url_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        options.http_url(text)


def test_http_url_accepts() -> None:
    assert options.http_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/"
