"""TechEmpower-style verification of a target before any load is sent to it.

Each check opens its own connection, so one failure does not hide the others.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from swarmbench.engine.http1 import ProtocolError, ResponseHead, parse_chunked, parse_head

#: Headers the contract itself defines; anything else a server sends is reported as extra.
CONTRACT_HEADERS = frozenset({"content-type", "content-length", "connection", "transfer-encoding"})
EXPECTED_BODY = b"Hello"
KEEPALIVE_REQUESTS = 100
PIPELINE_DEPTH = 16
CLOSE_WITHIN_S = 1.0
IO_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Response:
    head: ResponseHead
    body: bytes


class Conn:
    """A blocking socket with a read buffer that yields whole responses."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=IO_TIMEOUT_S)
        self.buf = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buf += chunk
        return bool(chunk)

    def response(self) -> Response:
        while (head := parse_head(self.buf)) is None:
            if not self._fill():
                raise ProtocolError("connection closed before a response")
        return Response(head, self._body(head))

    def _body(self, head: ResponseHead) -> bytes:
        start = head.size
        if head.chunked:
            while (decoded := parse_chunked(self.buf, start)) is None:
                if not self._fill():
                    raise ProtocolError("connection closed inside a chunked body")
            body, end = decoded
        elif head.content_length is not None:
            end = start + head.content_length
            while len(self.buf) < end:
                if not self._fill():
                    raise ProtocolError("connection closed before Content-Length bytes")
            body = bytes(self.buf[start:end])
        else:  # HTTP/1.0 style: the body runs to the close
            while self._fill():
                pass
            end = len(self.buf)
            body = bytes(self.buf[start:end])
        del self.buf[:end]
        return body

    def closes_within(self, seconds: float) -> bool:
        """True if the peer closes (EOF or reset) within `seconds` with nothing more to say."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                if not self._fill():
                    return True
            except TimeoutError:
                return False
            except ConnectionResetError:
                return True
        return False

    def close(self) -> None:
        self.sock.close()


def request(host: str, path: str, version: str = "1.1", connection: str | None = None) -> bytes:
    lines = [f"GET {path} HTTP/{version}", f"Host: {host}"]
    if connection:
        lines.append(f"Connection: {connection}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Verifier:
    """Runs the checks against one URL; `run()` returns one Check per contract point."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.hostport = f"{self.host}:{self.port}"

    def connect(self) -> Conn:
        return Conn(self.host, self.port)

    def run(self) -> list[Check]:
        checks: list[Check] = []
        # Each step's name is what a failure to get any answer at all is reported as.
        steps: list[tuple[str, Callable[[], list[Check]]]] = [
            ("status 200", self.check_basic),
            ("keep-alive", self.check_keepalive),
            ("connection: close", self.check_close),
            ("http/1.0 closes", self.check_http10_close),
            ("http/1.0 keep-alive", self.check_http10_keepalive),
            ("pipelining", self.check_pipelining),
        ]
        for name, step in steps:
            try:
                checks.extend(step())
            except (OSError, ProtocolError) as exc:
                checks.append(Check(name, False, f"{type(exc).__name__}: {exc}"))
        return checks

    def one(self, version: str = "1.1", connection: str | None = None) -> tuple[Conn, Response]:
        conn = self.connect()
        conn.send(request(self.hostport, self.path, version, connection))
        return conn, conn.response()

    def check_basic(self) -> list[Check]:
        conn, resp = self.one()
        conn.close()
        head = resp.head
        ctype = head.header("content-type") or ""
        media = ctype.split(";", 1)[0].strip().lower()
        length = head.content_length
        if length is not None:
            framing = Check("content-length", length == 5, f"Content-Length: {length}")
        elif head.chunked:
            framing = Check("content-length", True, "chunked (no Content-Length)")
        else:
            framing = Check("content-length", False, "neither Content-Length nor chunked")
        extras = sorted({k for k, _ in head.headers} - CONTRACT_HEADERS)
        return [
            Check("status 200", head.status == 200, f"{head.version} {head.status} {head.reason}"),
            Check("body Hello", resp.body == EXPECTED_BODY, f"body {resp.body[:40]!r}"),
            Check("content-type text/plain", media == "text/plain", f"Content-Type: {ctype!r}"),
            framing,
            Check("extra headers", True, ", ".join(extras) or "none"),
        ]

    def check_keepalive(self) -> list[Check]:
        conn = self.connect()
        answered = 0
        try:
            for _ in range(KEEPALIVE_REQUESTS):
                conn.send(request(self.hostport, self.path))
                if conn.response().body != EXPECTED_BODY:
                    break
                answered += 1
        except (OSError, ProtocolError) as exc:
            detail = f"{answered}/{KEEPALIVE_REQUESTS} answered, then {exc}"
            return [Check("keep-alive", False, detail)]
        finally:
            conn.close()
        ok = answered == KEEPALIVE_REQUESTS
        return [Check("keep-alive", ok, f"{answered}/{KEEPALIVE_REQUESTS} on one connection")]

    def check_close(self) -> list[Check]:
        conn, resp = self.one(connection="close")
        echoed = "close" in resp.head.connection_tokens()
        closed = conn.closes_within(CLOSE_WITHIN_S)
        conn.close()
        detail = f"Connection: {resp.head.header('connection')!r}, " + (
            "closed" if closed else f"still open after {CLOSE_WITHIN_S:g} s"
        )
        return [Check("connection: close", echoed and closed, detail)]

    def check_http10_close(self) -> list[Check]:
        conn, _ = self.one(version="1.0")
        closed = conn.closes_within(CLOSE_WITHIN_S)
        conn.close()
        detail = "closed" if closed else f"still open after {CLOSE_WITHIN_S:g} s"
        return [Check("http/1.0 closes", closed, detail)]

    def check_http10_keepalive(self) -> list[Check]:
        conn, first = self.one(version="1.0", connection="keep-alive")
        try:
            said_keep = "keep-alive" in first.head.connection_tokens()
            conn.send(request(self.hostport, self.path, "1.0", "keep-alive"))
            second = conn.response()
        except (OSError, ProtocolError) as exc:
            return [Check("http/1.0 keep-alive", False, f"second request failed: {exc}")]
        finally:
            conn.close()
        ok = said_keep and second.body == EXPECTED_BODY
        detail = f"Connection: {first.head.header('connection')!r}, second request answered"
        return [Check("http/1.0 keep-alive", ok, detail)]

    def check_pipelining(self) -> list[Check]:
        # The last request asks to close: its answer must come last, so order is observable.
        batch = request(self.hostport, self.path) * (PIPELINE_DEPTH - 1)
        batch += request(self.hostport, self.path, connection="close")
        conn = self.connect()
        conn.send(batch)
        got: list[Response] = []
        try:
            while len(got) < PIPELINE_DEPTH:
                got.append(conn.response())
        except (OSError, ProtocolError) as exc:
            detail = f"{len(got)}/{PIPELINE_DEPTH} responses, then {exc}"
            return [Check("pipelining", False, detail)]
        finally:
            conn.close()
        bodies_ok = all(r.body == EXPECTED_BODY for r in got)
        closes = ["close" in r.head.connection_tokens() for r in got]
        in_order = closes[-1] and not any(closes[:-1])
        detail = f"{len(got)}/{PIPELINE_DEPTH} responses" + ("" if in_order else ", out of order")
        return [Check("pipelining", bodies_ok and in_order, detail)]


def verify(url: str) -> list[Check]:
    return Verifier(url).run()


def extra_headers(checks: list[Check]) -> list[str]:
    for check in checks:
        if check.name == "extra headers":
            return [] if check.detail == "none" else check.detail.split(", ")
    return []
