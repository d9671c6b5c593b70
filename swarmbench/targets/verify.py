"""TechEmpower-style verification of a target before any load is sent to it.

Each check opens its own connection, so one failure does not hide the others. What is checked
comes from the target's Contract (swarmbench.targets.registry): the seven answer the hello
contract, a user's server its own status and, only when its entry gives them, body and
Content-Type. A check a contract does not require is still run and reported (required=False),
so a bench can tell, e.g., that ab's HTTP/1.0 keep-alive will not hold with this server.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from swarmbench.engine.http1 import ProtocolError, ResponseHead, parse_chunked, parse_head
from swarmbench.targets.registry import HELLO, Contract

#: Headers the contract itself defines; anything else a server sends is reported as extra.
CONTRACT_HEADERS = frozenset({"content-type", "content-length", "connection", "transfer-encoding"})
KEEPALIVE_REQUESTS = 100
PIPELINE_DEPTH = 16
CLOSE_WITHIN_S = 1.0
IO_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    #: False: reported only, the contract does not require it
    required: bool = True

    @property
    def failed(self) -> bool:
        """A required check that did not pass: the server is not fit to load."""
        return self.required and not self.ok


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

    def __init__(self, url: str, contract: Contract = HELLO) -> None:
        self.contract = contract
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.hostport = f"{self.host}:{self.port}"

    def connect(self) -> Conn:
        return Conn(self.host, self.port)

    def matches(self, resp: Response) -> bool:
        """The same answer again, for the connection checks: the contract's body where it names
        one, else its status (the status itself is checked once, by check_basic)."""
        body = self.contract.body
        return resp.body == body if body is not None else resp.head.status == self.contract.status

    def run(self) -> list[Check]:
        checks: list[Check] = []
        # Each step's name is what a failure to get any answer at all is reported as.
        steps: list[tuple[str, Callable[[], list[Check]]]] = [
            (f"status {self.contract.status}", self.check_basic),
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
        return [replace(c, required=self.contract.required(c.name)) for c in checks]

    def one(self, version: str = "1.1", connection: str | None = None) -> tuple[Conn, Response]:
        conn = self.connect()
        conn.send(request(self.hostport, self.path, version, connection))
        return conn, conn.response()

    def check_basic(self) -> list[Check]:
        conn, resp = self.one()
        conn.close()
        head, contract = resp.head, self.contract
        status = contract.status
        checks = [Check(f"status {status}", head.status == status, _status_line(head))]
        if contract.body is not None:
            name = "body Hello" if contract.hello else "body"
            checks.append(Check(name, resp.body == contract.body, f"body {resp.body[:40]!r}"))
        if contract.content_type is not None:
            ctype = head.header("content-type") or ""
            media = ctype.split(";", 1)[0].strip().lower()
            wanted = contract.content_type
            detail = f"Content-Type: {ctype!r}"
            checks.append(Check(f"content-type {wanted}", media == wanted, detail))
        checks.append(self._framing(head))
        extras = sorted({k for k, _ in head.headers} - CONTRACT_HEADERS)
        checks.append(Check("extra headers", True, ", ".join(extras) or "none"))
        return checks

    def _framing(self, head: ResponseHead) -> Check:
        """Content-Length (the body's length, when the contract names the body) or chunked."""
        length, body = head.content_length, self.contract.body
        if length is not None:
            ok = body is None or length == len(body)
            return Check("content-length", ok, f"Content-Length: {length}")
        if head.chunked:
            return Check("content-length", True, "chunked (no Content-Length)")
        return Check("content-length", False, "neither Content-Length nor chunked")

    def check_keepalive(self) -> list[Check]:
        conn = self.connect()
        answered = 0
        try:
            for _ in range(KEEPALIVE_REQUESTS):
                conn.send(request(self.hostport, self.path))
                if not self.matches(conn.response()):
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
        ok = said_keep and self.matches(second)
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
        bodies_ok = all(self.matches(r) for r in got)
        closes = ["close" in r.head.connection_tokens() for r in got]
        in_order = closes[-1] and not any(closes[:-1])
        detail = f"{len(got)}/{PIPELINE_DEPTH} responses" + ("" if in_order else ", out of order")
        return [Check("pipelining", bodies_ok and in_order, detail)]


def _status_line(head: ResponseHead) -> str:
    return f"{head.version} {head.status} {head.reason}"


def verify(url: str, contract: Contract = HELLO) -> list[Check]:
    return Verifier(url, contract).run()


def extra_headers(checks: list[Check]) -> list[str]:
    for check in checks:
        if check.name == "extra headers":
            return [] if check.detail == "none" else check.detail.split(", ")
    return []
