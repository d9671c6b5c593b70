"""HTTP/1.x response framing, shared by the verifier and the load client. No I/O.

Only what a benchmark needs: status line, headers, and a body framed by Content-Length,
chunked encoding, or the connection's end. `ResponseReader` takes the bytes of one response in
whatever pieces the socket gives them and says when the response is complete. It is total:
any input ends in a response, a ProtocolError (ResponseTooLarge, ClosedEarly), or "need more
bytes", and the caller's deadline bounds the last. Its buffer never holds more than its
max_bytes, and every byte is examined a bounded number of times however the input is split,
so a hostile server can neither grow a worker's memory nor make its CPU spin.

A ProtocolError's `problem` is one of a fixed set of phrases (a failure key that stays short);
`sample` is the server's offending text, escaped and truncated, for people to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HEAD_END = b"\r\n\r\n"
#: A head longer than this is not a hello server's answer: treat it as garbage.
MAX_HEAD_BYTES = 16 * 1024
#: A chunk-size line (hex size and extensions) longer than this is garbage.
MAX_CHUNK_LINE_BYTES = 1024
#: Server text quoted in a failure's detail is cut to this many characters.
SAMPLE_CHARS = 60

_STATUS = re.compile(rb"^HTTP/1\.[0-9] [0-9]{3}(?: |$)", re.ASCII)
_DIGITS = re.compile(r"^[0-9]{1,18}$", re.ASCII)
_CHUNK_SIZE = re.compile(rb"^[ \t]*([0-9A-Fa-f]{1,15})[ \t]*(?:;.*)?$", re.ASCII | re.DOTALL)


def shown(text: str | bytes, limit: int = SAMPLE_CHARS) -> str:
    """Server text made safe to print: control and non-printable characters escaped (as in
    repr), then cut to `limit` characters with an ellipsis."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("latin-1")
    out = []
    for ch in text:
        out.append(ch if ch.isprintable() and ch != "\\" else repr(ch)[1:-1])
    escaped = "".join(out)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


class ProtocolError(ValueError):
    """The bytes are not a well-formed HTTP/1.x response."""

    def __init__(self, problem: str, sample: str | bytes = "") -> None:
        self.problem = problem
        self.sample = shown(sample) if sample else ""
        super().__init__(f"{problem}: {self.sample}" if self.sample else problem)


class ResponseTooLarge(ProtocolError):
    """More bytes than the reader's max_bytes (or a Content-Length promising them)."""


class ClosedEarly(ProtocolError):
    """The connection ended before the response did; `in_head`: before the head was whole."""

    def __init__(self, problem: str, in_head: bool) -> None:
        super().__init__(problem)
        self.in_head = in_head


@dataclass
class ResponseHead:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: bytes of the head including the blank line
    size: int = 0

    def header(self, name: str) -> str | None:
        """The first value of a header, name case-insensitive."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def content_length(self) -> int | None:
        """Content-Length: ASCII digits only, and every copy of the header agreeing."""
        values = {value for key, value in self.headers if key == "content-length"}
        if not values:
            return None
        if len(values) > 1:
            raise ProtocolError("conflicting Content-Length headers", ", ".join(sorted(values)))
        (value,) = values
        if not _DIGITS.match(value):
            raise ProtocolError("bad Content-Length", value)
        return int(value)

    @property
    def chunked(self) -> bool:
        return "chunked" in (self.header("transfer-encoding") or "").lower()

    @property
    def bodiless(self) -> bool:
        """A status that never carries a body (1xx, 204, 304)."""
        return self.status in (204, 304) or 100 <= self.status < 200

    def connection_tokens(self) -> set[str]:
        return {t.strip().lower() for t in (self.header("connection") or "").split(",") if t}


def parse_head(buf: bytes | bytearray, search_from: int = 0) -> ResponseHead | None:
    """The response head at the start of buf, or None if it is not complete yet.

    `search_from`: where the blank line may start at the earliest (the caller has already
    searched the bytes before it), so feeding a head byte by byte stays linear.
    """
    end = buf.find(HEAD_END, max(0, search_from))
    if end < 0:
        if len(buf) > MAX_HEAD_BYTES:
            raise ResponseTooLarge("response head too long")
        return None
    if end + len(HEAD_END) > MAX_HEAD_BYTES:
        raise ResponseTooLarge("response head too long")
    raw = bytes(buf[:end])
    status_line, _, rest = raw.partition(b"\r\n")
    if not _STATUS.match(status_line):
        raise ProtocolError("bad status line", status_line)
    parts = status_line.decode("latin-1").split(" ", 2)
    reason = parts[2] if len(parts) > 2 else ""
    head = ResponseHead(version=parts[0], status=int(parts[1]), reason=reason)
    for line in rest.split(b"\r\n") if rest else []:
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name.strip():
            raise ProtocolError("bad header line", line)
        head.headers.append((name.strip().lower(), value.strip()))
    head.size = end + len(HEAD_END)
    return head


@dataclass
class Response:
    head: ResponseHead
    body: bytes
    #: offset just past the response in the reader's buffer (pipelined bytes may follow)
    end: int
    #: the body ran to the connection's end (no Content-Length, not chunked)
    close_delimited: bool = False


class _Chunked:
    """Incremental chunked-body decoder over a growing buffer; remembers where it stopped."""

    SIZE, DATA, TRAILER, DONE = range(4)

    def __init__(self, start: int) -> None:
        self.pos = start  # start of the next thing to read
        self.scan = start  # where the search for the next CRLF resumes
        self.state = self.SIZE
        self.need = 0
        self.body = bytearray()

    def _line(self, buf: bytearray, limit: int) -> bytes | None:
        """The next CRLF-terminated line at self.pos (without CRLF), or None if incomplete."""
        end = buf.find(b"\r\n", self.scan)
        if end < 0:
            self.scan = max(self.pos, len(buf) - 1)
            if len(buf) - self.pos > limit:
                raise ProtocolError("chunk line too long", bytes(buf[self.pos : self.pos + 40]))
            return None
        line = bytes(buf[self.pos : end])
        if len(line) > limit:
            raise ProtocolError("chunk line too long", line[:40])
        self.pos = self.scan = end + 2
        return line

    def advance(self, buf: bytearray, max_bytes: int) -> bool:
        """Decode what buf holds now; True once the final chunk and trailers are in."""
        while self.state != self.DONE:
            if self.state == self.DATA:
                end = self.pos + self.need
                if end + 2 > max_bytes:
                    raise ResponseTooLarge("chunk beyond the response size limit")
                if len(buf) < end + 2:
                    return False
                if buf[end : end + 2] != b"\r\n":
                    raise ProtocolError("no CRLF after chunk data", bytes(buf[end : end + 2]))
                self.body += buf[self.pos : end]
                self.pos = self.scan = end + 2
                self.state = self.SIZE
                continue
            limit = MAX_CHUNK_LINE_BYTES if self.state == self.SIZE else MAX_HEAD_BYTES
            line = self._line(buf, limit)
            if line is None:
                return False
            if self.state == self.TRAILER:
                self.state = self.DONE if not line else self.TRAILER
                continue
            match = _CHUNK_SIZE.match(line)
            if not match:
                raise ProtocolError("bad chunk size", line)
            self.need = int(match.group(1), 16)
            self.state = self.DATA if self.need else self.TRAILER
        return True


class ResponseReader:
    """Frames one response from bytes fed in any pieces; see the module's docstring."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.buf = bytearray()
        self.head: ResponseHead | None = None
        self._head_scan = 0
        self._chunks: _Chunked | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if len(self.buf) + len(data) > self.max_bytes:
            raise ResponseTooLarge(f"more than {self.max_bytes} bytes")
        self.buf += data

    def poll(self) -> Response | None:
        """The response, once the bytes fed hold all of it; None while more are needed."""
        if self.head is None:
            self.head = parse_head(self.buf, self._head_scan)
            if self.head is None:
                self._head_scan = max(0, len(self.buf) - len(HEAD_END) + 1)
                return None
        head = self.head
        if head.bodiless:
            return Response(head, b"", head.size)
        if head.chunked:
            if self._chunks is None:
                self._chunks = _Chunked(head.size)
            if not self._chunks.advance(self.buf, self.max_bytes):
                return None
            return Response(head, bytes(self._chunks.body), self._chunks.pos)
        return self._sized(head)

    def _sized(self, head: ResponseHead) -> Response | None:
        """A Content-Length body, or None: incomplete, or running to the connection's end."""
        length = head.content_length
        if length is None:
            return None  # see eof()
        end = head.size + length
        if end > self.max_bytes:  # refused before reading any of it
            raise ResponseTooLarge(f"Content-Length {length} beyond the size limit")
        if len(self.buf) < end:
            return None
        return Response(head, bytes(self.buf[head.size : end]), end)

    def eof(self) -> Response:
        """The connection ended: the response if its body runs to the end, else ClosedEarly."""
        response = self.poll()
        if response is not None:
            return response
        if self.head is None:
            raise ClosedEarly("connection closed in the response head", in_head=True)
        if self.head.chunked:
            raise ClosedEarly("connection closed in a chunked body", in_head=False)
        if self.head.content_length is not None:
            raise ClosedEarly("connection closed before Content-Length bytes", in_head=False)
        body = bytes(self.buf[self.head.size :])
        return Response(self.head, body, len(self.buf), close_delimited=True)
