"""swarmbench.engine.httpclient against the fake server's modes, served from a thread here."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from fakes import server as fake

from swarmbench.engine.httpclient import BadURL, Client, Endpoint, Reason, RequestFailed

Serve = Callable[..., Endpoint]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Listen on a free port in a thread, one thread per connection, in a fake server mode."""
    listeners: list[socket.socket] = []

    def start(mode: str = "ok", delay_s: float = 0.0) -> Endpoint:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def accept() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(
                    target=fake.serve_connection, args=(conn, mode, delay_s), daemon=True
                ).start()

        threading.Thread(target=accept, daemon=True).start()
        return Endpoint("127.0.0.1", listener.getsockname()[1], "/")

    yield start
    for listener in listeners:
        listener.close()


def _failure(client: Client) -> RequestFailed:
    with pytest.raises(RequestFailed) as info:
        client.request()
    return info.value


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080/", Endpoint("127.0.0.1", 8080, "/")),
        ("http://localhost", Endpoint("localhost", 80, "/")),
        ("http://h:81/a/b?x=1", Endpoint("h", 81, "/a/b?x=1")),
    ],
)
def test_endpoint_from_url(url: str, expected: Endpoint) -> None:
    assert Endpoint.from_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://127.0.0.1/", "https is not supported"),
        ("127.0.0.1:8080", "not an http URL"),
        ("http://", "not an http URL"),
        ("ftp://x/", "not an http URL"),
        ("http://h:99999/", "bad port"),
        ("http://h:port/", "bad port"),
    ],
)
def test_endpoint_refuses_what_it_cannot_load(url: str, message: str) -> None:
    with pytest.raises(BadURL, match=message):
        Endpoint.from_url(url)


def test_request_is_encoded_once_with_host_and_close() -> None:
    endpoint = Endpoint("127.0.0.1", 8080, "/x")
    assert endpoint.request_bytes(False) == b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
    assert endpoint.request_bytes(True).endswith(b"Connection: close\r\n\r\n")
    assert Endpoint("h", 80, "/").host_header == "h"


def test_keep_alive_reuses_one_connection_and_takes_the_fast_path(serve: Serve) -> None:
    client = Client(serve("ok"))
    sizes = [client.request() for _ in range(200)]
    assert len(set(sizes)) == 1
    assert client._fast_len == sizes[0]  # learned from the first, parsed response
    first_sock = client._sock
    client.request()
    assert client._sock is first_sock
    client.close()


def test_close_mode_opens_a_connection_per_request(serve: Serve) -> None:
    client = Client(serve("ok"), close=True)
    for _ in range(50):
        assert client.request() > 0
    assert client._sock is None


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "close"])
def test_refused(close: bool) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Client(Endpoint("127.0.0.1", port, "/"), close=close)
    assert _failure(client).reason is Reason.REFUSED
    assert client._sock is None


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "close"])
def test_unresolvable_host_is_refused(close: bool) -> None:
    exc = _failure(Client(Endpoint("no-such-host.invalid", 80, "/"), close=close))
    assert exc.reason is Reason.REFUSED


def test_bad_status(serve: Serve) -> None:
    client = Client(serve("status-500"))
    exc = _failure(client)
    assert exc.reason is Reason.BAD_STATUS
    assert str(exc) == "bad-status: status 500"
    assert _failure(client).reason is Reason.BAD_STATUS  # reconnects and fails the same way


def test_short_body(serve: Serve) -> None:
    assert _failure(Client(serve("mid-body"))).reason is Reason.SHORT_BODY


def test_garbage_is_a_protocol_error(serve: Serve) -> None:
    assert _failure(Client(serve("garbage"))).reason is Reason.PROTOCOL


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "close"])
def test_timeout(serve: Serve, close: bool) -> None:
    client = Client(serve("silent"), close=close, timeout=0.2)
    assert _failure(client).reason is Reason.TIMEOUT
    assert client._sock is None


def test_body_framed_by_close_is_read_to_the_end(serve: Serve) -> None:
    client = Client(serve("no-length"))
    assert client.request() == client.request() > 0


def test_close_header_ignored_by_server_is_a_protocol_error(serve: Serve) -> None:
    # We asked for close; a server that keeps the connection breaks the contract.
    client = Client(serve("ignore-close"), close=True, timeout=0.5)
    assert _failure(client).reason in (Reason.PROTOCOL, Reason.TIMEOUT)


def test_body_over_the_bound_is_too_large(serve: Serve) -> None:
    client = Client(serve("huge"))  # 10 MB, refused by its Content-Length before reading it
    exc = _failure(client)
    assert exc.reason is Reason.TOO_LARGE
    assert _failure(client).reason is Reason.TOO_LARGE  # reconnects and fails the same way
