"""Minimal HTTP/1.x response framing, shared by the verifier and the load client.

Only what a benchmark needs: status line, headers, and a body framed by Content-Length,
chunked encoding, or the connection's end. Pure functions over bytes, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HEAD_END = b"\r\n\r\n"
#: A head longer than this is not a hello server's answer: treat it as garbage.
MAX_HEAD_BYTES = 16 * 1024


class ProtocolError(ValueError):
    """The bytes are not a well-formed HTTP/1.x response."""


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
        value = self.header("content-length")
        if value is None:
            return None
        if not value.isdigit():
            raise ProtocolError(f"bad Content-Length {value!r}")
        return int(value)

    @property
    def chunked(self) -> bool:
        return "chunked" in (self.header("transfer-encoding") or "").lower()

    def connection_tokens(self) -> set[str]:
        return {t.strip().lower() for t in (self.header("connection") or "").split(",") if t}


def parse_head(buf: bytes | bytearray) -> ResponseHead | None:
    """The response head at the start of buf, or None if it is not complete yet."""
    end = buf.find(HEAD_END)
    if end < 0:
        if len(buf) > MAX_HEAD_BYTES:
            raise ProtocolError("response head too long")
        return None
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {lines[0][:60]!r}")
    head = ResponseHead(
        version=parts[0], status=int(parts[1]), reason=parts[2] if len(parts) > 2 else ""
    )
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ProtocolError(f"bad header line {line[:60]!r}")
        head.headers.append((name.strip().lower(), value.strip()))
    head.size = end + len(HEAD_END)
    return head


def parse_chunked(buf: bytes | bytearray, start: int) -> tuple[bytes, int] | None:
    """Decode a chunked body at buf[start:]: (body, end offset), or None if incomplete."""
    body = bytearray()
    pos = start
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size_text = bytes(buf[pos:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_text[:20]!r}") from None
        pos = line_end + 2
        if size == 0:
            trailer_end = buf.find(b"\r\n", pos)
            # Trailers are not expected from a hello server; skip to the final CRLF.
            while trailer_end >= 0 and trailer_end != pos:
                pos = trailer_end + 2
                trailer_end = buf.find(b"\r\n", pos)
            if trailer_end < 0:
                return None
            return bytes(body), pos + 2
        if len(buf) < pos + size + 2:
            return None
        body += buf[pos : pos + size]
        pos += size + 2
