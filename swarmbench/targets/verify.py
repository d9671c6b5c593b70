"""TechEmpower-style verification of a target before any load is sent to it.

Each check opens its own connection, so one failure does not hide the others. What is checked
comes from the target's Contract (swarmbench.targets.registry): the seven answer the hello
contract, a user's server its own status and, only when its entry gives them, body and
Content-Type. A check a contract does not require is still run and reported (required=False),
so a bench can tell, e.g., that ab's HTTP/1.0 keep-alive will not hold with this server.

Each check has an overall deadline (CHECK_DEADLINE_S) and each response a size cap
(MAX_RESPONSE_BYTES), so a server that trickles bytes or never stops talking fails a check instead
of hanging verify. Server text in a check's detail is escaped and truncated (http1.shown):
printable, one line.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from swarmbench.engine.http1 import (
    ProtocolError,
    Response,
    ResponseHead,
    ResponseReader,
    shown,
)
from swarmbench.targets.registry import HELLO, Contract

#: Headers the contract itself defines; anything else a server sends is reported as extra.
CONTRACT_HEADERS = frozenset({"content-type", "content-length", "connection", "transfer-encoding"})
KEEPALIVE_REQUESTS = 100
PIPELINE_DEPTH = 16
CLOSE_WITHIN_S = 1.0
IO_TIMEOUT_S = 3.0
#: A whole check (100 keep-alive requests at most) gets this long, however the server trickles.
CHECK_DEADLINE_S = 10.0
#: A hello response is ~100 bytes, 16 pipelined ones ~2 KB: anything near this is not one.
MAX_RESPONSE_BYTES = 64 * 1024


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


class CheckTimeout(TimeoutError):
    """The check's deadline passed."""


class Conn:
    """A blocking socket with a read buffer that yields whole responses, within a deadline."""

    def __init__(self, host: str, port: int, deadline: float, budget_s: float = 0.0) -> None:
        self.deadline = deadline
        self.budget_s = budget_s or CHECK_DEADLINE_S
        self.sock = socket.create_connection((host, port), timeout=self._left())
        self.buf = bytearray()

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise CheckTimeout(f"no complete answer within the check's {self.budget_s:g} s")
        return min(IO_TIMEOUT_S, left)

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self._left())
        try:
            self.sock.sendall(data)
        except TimeoutError:
            self._left()  # the check's deadline, if that is what passed
            raise TimeoutError(f"could not send for {IO_TIMEOUT_S:g} s") from None

    def _recv(self) -> bytes:
        self.sock.settimeout(self._left())
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            self._left()
            raise TimeoutError(f"no data for {IO_TIMEOUT_S:g} s") from None

    def response(self) -> Response:
        """The next whole response; bytes after it (pipelined answers) stay buffered."""
        reader = ResponseReader(MAX_RESPONSE_BYTES)
        reader.feed(self.buf)
        while (resp := reader.poll()) is None:
            chunk = self._recv()
            if not chunk:
                resp = reader.eof()
                break
            reader.feed(chunk)
        self.buf = reader.buf[resp.end :]
        return resp

    def closes_within(self, seconds: float) -> bool:
        """True if the peer closes (EOF or reset) within `seconds` with nothing more to say."""
        deadline = min(time.monotonic() + seconds, self.deadline)
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return False
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            if len(self.buf) + len(chunk) > MAX_RESPONSE_BYTES:
                return False
            self.buf += chunk
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

    def __init__(
        self, url: str, contract: Contract = HELLO, check_deadline_s: float = CHECK_DEADLINE_S
    ) -> None:
        self.contract = contract
        self.check_deadline_s = check_deadline_s
        self.deadline = 0.0
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.hostport = f"{self.host}:{self.port}"

    def connect(self) -> Conn:
        return Conn(self.host, self.port, self.deadline, self.check_deadline_s)

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
            self.deadline = time.monotonic() + self.check_deadline_s
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
            checks.append(Check(name, resp.body == contract.body, f"body {shown(resp.body, 40)}"))
        if contract.content_type is not None:
            ctype = head.header("content-type") or ""
            media = ctype.split(";", 1)[0].strip().lower()
            wanted = contract.content_type
            detail = f"Content-Type: {shown(ctype)}"
            checks.append(Check(f"content-type {wanted}", media == wanted, detail))
        checks.append(self._framing(head))
        extras = sorted({shown(k) for k, _ in head.headers} - CONTRACT_HEADERS)
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
        detail = f"Connection: {shown(resp.head.header('connection') or 'none')}, " + (
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
        said = shown(first.head.header("connection") or "none")
        detail = f"Connection: {said}, second request answered"
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
    return f"{head.version} {head.status} {shown(head.reason)}"


def verify(
    url: str, contract: Contract = HELLO, check_deadline_s: float = CHECK_DEADLINE_S
) -> list[Check]:
    return Verifier(url, contract, check_deadline_s).run()


@dataclass(frozen=True)
class Deviations:
    """A server's checks against the deviations its registry entry names (a variant kept as
    published, node-std-published, fails exactly those: Target.known_deviations)."""

    #: checks it failed that the entry does not name, required or not (Check.failed says
    #: which make it unfit to load)
    beyond: tuple[Check, ...]
    #: named deviations it did not fail: the entry is stale
    stale: tuple[str, ...]

    @property
    def refused(self) -> list[str]:
        """The required checks failed beyond the known deviations: no load for this server."""
        return [c.name for c in self.beyond if c.failed]


def deviations(checks: Sequence[Check], known: Iterable[str]) -> Deviations:
    """`checks` (one verify) against the `known` deviations of the server's entry."""
    named = tuple(known)
    failed = {c.name for c in checks if not c.ok}
    beyond = tuple(c for c in checks if not c.ok and c.name not in named)
    return Deviations(beyond, tuple(name for name in named if name not in failed))


def extra_headers(checks: list[Check]) -> list[str]:
    for check in checks:
        if check.name == "extra headers":
            return [] if check.detail == "none" else check.detail.split(", ")
    return []
