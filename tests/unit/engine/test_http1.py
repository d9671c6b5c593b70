import pytest

from swarmbench.engine.http1 import MAX_HEAD_BYTES, ProtocolError, ResponseReader, parse_head

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nHello"


def test_parse_head_reads_status_and_headers() -> None:
    head = parse_head(RESPONSE)
    assert head is not None
    assert (head.version, head.status, head.reason) == ("HTTP/1.1", 200, "OK")
    assert head.header("CONTENT-TYPE") == "text/plain"
    assert head.content_length == 5
    assert RESPONSE[head.size :] == b"Hello"


def test_incomplete_head_is_none() -> None:
    assert parse_head(RESPONSE[:20]) is None


@pytest.mark.parametrize(
    "data",
    [b"garbage\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n"],
)
def test_malformed_heads_raise(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_head(data)


def test_endless_head_raises() -> None:
    with pytest.raises(ProtocolError):
        parse_head(b"x" * (MAX_HEAD_BYTES + 1))


def test_chunked_body_decodes_and_reports_its_end() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    data = head + b"2\r\nHe\r\n3;ext=1\r\nllo\r\n0\r\n\r\nNEXT"
    reader = ResponseReader(1024)
    reader.feed(data[: len(head) + 8])
    assert reader.poll() is None
    reader.feed(data[len(head) + 8 :])
    response = reader.poll()
    assert response is not None
    assert (response.body, response.end) == (b"Hello", len(data) - 4)


def test_connection_tokens() -> None:
    head = parse_head(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive, Upgrade\r\n\r\n")
    assert head is not None
    assert head.connection_tokens() == {"keep-alive", "upgrade"}
