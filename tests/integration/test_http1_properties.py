"""Property tests of HTTP/1 framing: generated responses, well-formed and hostile, split at random
points across reads, through the pure reader, verify's connection and the load client.

What must hold for every input: it ends in a response, a classified failure, or a timeout, never
a hang or an unexpected exception; no more than the size limit is ever buffered; a well-formed
response is framed exactly (its body, its end) however it is split; failure keys never carry
server text. Example counts (EXAMPLES_*) keep the whole file in seconds; the note in the
report gives the numbers and the time.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swarmbench.engine import http1
from swarmbench.engine.http1 import ProtocolError, ResponseReader
from swarmbench.engine.httpclient import Client, Endpoint, Reason, RequestFailed
from swarmbench.targets import verify

EXAMPLES_PURE = 400
EXAMPLES_SOCKET = 150
#: A reader's limit small enough that generated bodies cross it now and then.
LIMIT = 4096
PROPERTY = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# -- generated responses -------------------------------------------------------------------------
TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-ABCXYZ0123456789", min_size=1, max_size=12)
#: Header values: any latin-1 text without CR or LF (control characters and markup included).
VALUE = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=255, blacklist_characters="\r\n"),
    max_size=30,
)
STATUS = st.one_of(st.sampled_from([200, 204, 304, 404, 500]), st.integers(100, 599))


@dataclass(frozen=True)
class Generated:
    data: bytes
    status: int
    body: bytes
    #: the body runs to the connection's end
    close_delimited: bool


def _chunked(
    body: bytes, cuts: list[int], extension: str, trailers: list[tuple[str, str]]
) -> bytes:
    points = sorted({c for c in cuts if 0 < c < len(body)})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    out = b"".join(b"%x%s\r\n%s\r\n" % (len(p), extension.encode(), p) for p in pieces if p)
    out += b"0\r\n" + b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in trailers)
    return out + b"\r\n"


@st.composite
def responses(draw: st.DrawFn) -> Generated:
    """A well-formed response: any status, headers, and one of the three framings."""
    status = draw(STATUS)
    reason = draw(VALUE)
    headers = draw(st.lists(st.tuples(TOKEN, VALUE), max_size=5))
    headers = [
        (k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")
    ]
    body = draw(st.binary(max_size=600))
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    bodiless = status in (204, 304) or status < 200
    if bodiless:
        body, framing = b"", "none"
    if framing == "length":
        headers.append(("Content-Length", str(len(body))))
        payload = body
    elif framing == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
        cuts = draw(st.lists(st.integers(0, 600), max_size=6))
        extension = draw(st.sampled_from(["", ";x=1", "; name"]))
        trailers = draw(st.lists(st.tuples(TOKEN, VALUE), max_size=2))
        payload = _chunked(body, cuts, extension, trailers)
    else:
        payload = body
    head = f"HTTP/1.{draw(st.sampled_from([0, 1]))} {status} {reason}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return Generated(head.encode("latin-1") + payload, status, body, framing == "close")


#: Pieces of hostile framing a mutation splices in.
HOSTILE = [
    b"-1\r\n", b"-2\r\n", b"+5\r\n", b"0x5\r\n", b"1_0\r\n", b"\xb2\r\n", b"fffffffffffffff\r\n",
    b"Content-Length: \xc2\xb2\r\n", b"Content-Length: -1\r\n", b"Content-Length: 9999999999\r\n",
    b"Content-Length: 1\r\nContent-Length: 2\r\n", b"Transfer-Encoding: chunked\r\n",
    b"HTTP/1.1 \xb2\xb2\xb2 OK\r\n", b"HTTP/2 200 OK\r\n", b"[/]\x1b[31m", b"\r\n\r\n", b"\r\n",
    b"\x00" * 3, b"x" * 5000,
]  # fmt: skip


@st.composite
def hostile(draw: st.DrawFn) -> bytes:
    """Well-formed responses cut, spliced with hostile pieces, or plain garbage."""
    kind = draw(st.sampled_from(["mutated", "garbage", "truncated"]))
    if kind == "garbage":
        return draw(st.binary(max_size=800))
    data = bytearray(draw(responses()).data)
    if kind == "truncated":
        return bytes(data[: draw(st.integers(0, len(data)))])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.sampled_from(HOSTILE))
    return bytes(data)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


CUTS = st.lists(st.integers(0, 2000), max_size=40)


def read_all(pieces: list[bytes], limit: int = LIMIT) -> http1.Response | ProtocolError:
    """Feed the pieces as reads would return them; the outcome once the connection ends."""
    reader = ResponseReader(limit)
    try:
        for piece in pieces:
            reader.feed(piece)
            assert len(reader.buf) <= limit
            response = reader.poll()
            if response is not None:
                return response
        return reader.eof()
    except ProtocolError as exc:
        return exc


# -- the pure reader ---------------------------------------------------------------------------
@settings(PROPERTY, max_examples=EXAMPLES_PURE)
@given(responses(), CUTS, st.binary(max_size=50))
def test_a_well_formed_response_is_framed_exactly_however_it_is_split(
    gen: Generated, cuts: list[int], after: bytes
) -> None:
    # Bytes after the response (a pipelined answer) must not change where it ends.
    outcome = read_all(split(gen.data + (b"" if gen.close_delimited else after), cuts))
    if len(gen.data) > LIMIT:
        assert isinstance(outcome, http1.ResponseTooLarge)
        return
    assert isinstance(outcome, http1.Response), outcome
    assert outcome.head.status == gen.status
    assert outcome.body == gen.body
    assert outcome.end == len(gen.data)
    assert outcome.close_delimited == gen.close_delimited


@settings(PROPERTY, max_examples=EXAMPLES_PURE)
@given(hostile(), CUTS)
def test_any_input_ends_in_a_response_or_a_protocol_error(data: bytes, cuts: list[int]) -> None:
    outcome = read_all(split(data, cuts))  # anything but these two escapes and fails the test
    assert isinstance(outcome, http1.Response | ProtocolError)
    if isinstance(outcome, ProtocolError):
        assert len(outcome.sample) <= http1.SAMPLE_CHARS
        assert outcome.sample.isprintable()


@settings(PROPERTY, max_examples=EXAMPLES_PURE // 2)
@given(st.text(max_size=80))
def test_shown_text_is_printable_and_short(text: str) -> None:
    out = http1.shown(text)
    assert out.isprintable()
    assert len(out) <= http1.SAMPLE_CHARS


def test_a_negative_chunk_size_is_an_error_not_a_loop() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for size in (b"-1", b"-2", b"+5", b"0x5", b"1_0", b"\xb2"):
        assert isinstance(read_all([head + size + b"\r\nab\r\n0\r\n\r\n"]), ProtocolError)


def test_a_unicode_digit_content_length_is_an_error() -> None:
    data = "HTTP/1.1 200 OK\r\nContent-Length: ²\r\n\r\nHe".encode("latin-1", "replace")
    data = data.replace(b"?", "²".encode())
    assert isinstance(read_all([data]), ProtocolError)


def test_byte_by_byte_chunks_up_to_the_limit_are_framed() -> None:
    # The worst split for a re-scanning parser: 1-byte chunks fed one byte at a time.
    body = b"x" * 40_000
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    data += b"".join(b"1\r\n%c\r\n" % c for c in body) + b"0\r\n\r\n"
    outcome = read_all([data[i : i + 1] for i in range(len(data))], limit=len(data))
    assert isinstance(outcome, http1.Response)
    assert outcome.body == body


# -- over real sockets: verify's connection and the load client -----------------------------------
class Trickler:
    """A loopback server that answers each connection with the given pieces, a pause between."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pieces: list[bytes] = []
        self.pause_s = 0.0
        self.endless = False
        self._done = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def serve(self, pieces: list[bytes]) -> None:
        """Answer the next connections with these pieces (at most 8 writes, 1 ms apart)."""
        self.pieces = [*pieces[:7], b"".join(pieces[7:])]
        self.pause_s, self.endless = 0.001, False

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            try:
                conn.recv(65536)
                for piece in self.pieces:
                    conn.sendall(piece)
                    time.sleep(self.pause_s)
                while self.endless and not self._done.is_set():
                    conn.sendall(b"1")
                    time.sleep(0.05)
                conn.shutdown(socket.SHUT_WR)
                conn.recv(65536)  # until the client is done
            except OSError:
                return

    def close(self) -> None:
        self._done.set()
        self.listener.close()


@pytest.fixture(scope="module")
def trickler() -> Iterator[Trickler]:
    server = Trickler()
    yield server
    server.close()


REASONS = {r.value for r in Reason}
#: Every detail a failure may carry: the reader's fixed problems, the client's own phrases.
FIXED_DETAILS = ("status ", "over ", "connection ", "bad ", "conflicting ", "chunk ", "no CRLF",
                 "response head", "more bytes", "closed before", "no answer",
                 "data after")  # fmt: skip


@settings(PROPERTY, max_examples=EXAMPLES_SOCKET)
@given(st.one_of(responses().map(lambda g: g.data), hostile()), CUTS)
def test_the_client_ends_every_request_in_a_size_or_a_fixed_failure(
    trickler: Trickler, data: bytes, cuts: list[int]
) -> None:
    trickler.serve(split(data, cuts))
    client = Client(Endpoint("127.0.0.1", trickler.port, "/"), close=True, timeout=2.0)
    try:
        assert client.request() >= 0
    except RequestFailed as exc:
        reason, _, detail = str(exc).partition(": ")
        assert reason in REASONS
        assert not detail or detail.startswith(FIXED_DETAILS), detail
    finally:
        client.close()


@settings(PROPERTY, max_examples=EXAMPLES_SOCKET)
@given(st.one_of(responses().map(lambda g: g.data), hostile()), CUTS)
def test_verify_reads_every_input_to_a_response_or_an_error(
    trickler: Trickler, data: bytes, cuts: list[int]
) -> None:
    trickler.serve(split(data, cuts))
    conn = verify.Conn("127.0.0.1", trickler.port, time.monotonic() + 2.0)
    try:
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        response = conn.response()
        assert len(conn.buf) + response.end <= verify.MAX_RESPONSE_BYTES
    except (OSError, ProtocolError):
        pass
    finally:
        conn.close()


def test_a_server_that_never_finishes_is_a_timeout_for_the_client(trickler: Trickler) -> None:
    trickler.pieces, trickler.pause_s, trickler.endless = [b"HTTP/1.1 200 OK\r\n"], 0.0, True
    client = Client(Endpoint("127.0.0.1", trickler.port, "/"), timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RequestFailed) as info:
        client.request()
    assert info.value.reason is Reason.TIMEOUT
    assert time.monotonic() - started < 5.0  # a hang guard: the timeout is 0.5 s


def test_a_server_that_never_finishes_fails_each_verify_check_by_its_deadline(
    trickler: Trickler,
) -> None:
    trickler.pieces, trickler.pause_s, trickler.endless = [b"HTTP/1.1 200 OK\r\n"], 0.0, True
    started = time.monotonic()
    checks = verify.verify(f"http://127.0.0.1:{trickler.port}/", check_deadline_s=0.5)
    assert checks and not any(c.ok for c in checks if c.name != "extra headers")
    assert any("within the check's 0.5 s" in c.detail for c in checks)
    assert time.monotonic() - started < 6 * 0.5 + 10.0  # a hang guard: six checks of 0.5 s
