"""A small HTTP/1.1 GET client for gevent greenlets, built to cost the generator little.

One `Client` belongs to one Locust user; its connections are engine.connection's (an OS
socket and the gevent waits on it, without gevent's socket wrapper). The request is encoded
once. With keep-alive it holds one connection; in close mode it opens one per request, sends
`Connection: close` and lets the server close first (so TIME_WAIT lands on the server, not on
the generator's ephemeral ports).

Reading a response has a fast path: after one response has been fully parsed, a single recv
that returns exactly as many bytes as that response, with the same status line and the head
ending at the same offset, is that same response again (one request is in flight, so nothing
else can be in the buffer). Anything else falls back to swarmbench.engine.http1's parser.

Failures raise `RequestFailed` with one of a small fixed set of reasons, so Locust's error table
stays short and a report can count them by kind.
"""

from __future__ import annotations

import errno
import socket as stdsocket
import weakref
from dataclasses import dataclass
from enum import StrEnum
from time import monotonic
from urllib.parse import urlsplit

import gevent
from gevent import socket

from swarmbench.engine.connection import Connection
from swarmbench.engine.http1 import (
    ClosedEarly,
    ProtocolError,
    ResponseHead,
    ResponseReader,
    ResponseTooLarge,
)

DEFAULT_TIMEOUT_S = 10.0
RECV_BUFFER_BYTES = 64 * 1024
#: A hello server's answer is ~100 bytes; a response beyond this is not what a benchmark loads,
#: and a user never buffers more (a hostile server cannot grow a worker's memory).
MAX_RESPONSE_BYTES = 1024 * 1024
#: The watchdog looks at running requests at least this often.
WATCHDOG_MAX_TICK_S = 0.5


class Reason(StrEnum):
    """Why a request failed: the fixed set every report counts by."""

    REFUSED = "refused"
    RESET = "reset"
    TIMEOUT = "timeout"
    BAD_STATUS = "bad-status"
    SHORT_BODY = "short-body"
    PROTOCOL = "protocol"
    TOO_LARGE = "too-large"


class RequestFailed(Exception):
    """A request that did not get a complete 2xx response; str() is stable for Locust's table."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason


class BadURL(ValueError):
    """The target URL cannot be loaded by this client."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        """Parse an http:// URL; https and anything without a host are refused, not guessed."""
        parts = urlsplit(url.strip())
        if parts.scheme == "https":
            raise BadURL(f"{url!r}: https is not supported, use http://")
        if parts.scheme != "http" or not parts.hostname:
            raise BadURL(f"{url!r} is not an http URL like http://127.0.0.1:8080/")
        try:
            port = parts.port or 80
        except ValueError:
            raise BadURL(f"{url!r} has a bad port") from None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(parts.hostname, port, path)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 80 else f"{host}:{self.port}"

    def request_bytes(self, close: bool) -> bytes:
        lines = [f"GET {self.path} HTTP/1.1", f"Host: {self.host_header}"]
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _reason_for(exc: OSError, connecting: bool) -> RequestFailed:
    if isinstance(exc, TimeoutError | stdsocket.timeout):
        return RequestFailed(Reason.TIMEOUT, "no answer in time")
    if isinstance(exc, ConnectionRefusedError):
        return RequestFailed(Reason.REFUSED, "connection refused")
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return RequestFailed(Reason.RESET, "connection reset")
    if isinstance(exc, stdsocket.gaierror):
        return RequestFailed(Reason.REFUSED, "host name does not resolve")
    if connecting or exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        # No route, no address: the connection could not be made, like a refusal.
        return RequestFailed(Reason.REFUSED, exc.strerror or type(exc).__name__)
    return RequestFailed(Reason.RESET, exc.strerror or type(exc).__name__)


class Client:
    """GET one URL over and over; `request()` returns the response's size in bytes."""

    def __init__(
        self, endpoint: Endpoint, close: bool = False, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.endpoint = endpoint
        self.close_each = close
        self.timeout = timeout
        self._request = endpoint.request_bytes(close)
        self._buf = bytearray(RECV_BUFFER_BYTES)
        self._sock: Connection | None = None
        self._addr: tuple[str, int] | None = None
        #: monotonic start of the request in flight (0: none), for the watchdog
        self._since = 0.0
        self._timed_out = False
        #: the request in flight was sent whole (close mode: so the connection was made)
        self._sent = False
        _watchdog.add(self)
        # The fast path's picture of the last fully parsed response (0 = not learned yet).
        self._fast_len = 0
        self._fast_head = 0
        self._fast_status = b""

    # -- connection ---------------------------------------------------------------------
    def _connect(self) -> Connection:
        """A new connection: made whole with keep-alive, only started in close mode.

        In close mode the connection is one request long, so it costs what a request costs:
        the handshake is only started here and `_exchange`'s first send finds it made (on
        loopback it is over before connect returns) or waits for it. TCP_NODELAY is left off
        there: the request is the connection's first and only segment, which Nagle's algorithm
        never holds back.
        """
        try:
            if self._addr is None:
                info = socket.getaddrinfo(
                    self.endpoint.host, self.endpoint.port, stdsocket.AF_INET, stdsocket.SOCK_STREAM
                )
                self._addr = info[0][4][:2]
            # No per-call timeout: gevent would arm a timer around every wait. The watchdog
            # aborts a connection whose request has run longer than self.timeout instead.
            conn = self._sock = Connection(stdsocket.AF_INET)
            if self.close_each:
                conn.start_connect(self._addr)
            else:
                conn.set_nodelay()
                conn.connect(self._addr)
        except OSError as exc:
            self.close()
            raise self._failure(exc, connecting=True) from None
        return conn

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _failure(self, exc: OSError, connecting: bool) -> RequestFailed:
        if self._timed_out:
            self._timed_out = False
            return RequestFailed(Reason.TIMEOUT, "no answer in time")
        return _reason_for(exc, connecting)

    def expire(self, now: float) -> None:
        """Called by the watchdog: end a request that has run past the timeout."""
        if self._since and now - self._since > self.timeout and self._sock is not None:
            self._timed_out = True
            sock, self._sock = self._sock, None
            sock.abort(TimeoutError("no answer in time"))  # wakes the waiting greenlet

    # -- requests -----------------------------------------------------------------------
    def _exchange(self, conn: Connection) -> int:
        """Send the request, wait for the answer, one recv: bytes received into self._buf."""
        self._sent = False
        conn.sendall(self._request)
        self._sent = True
        # The answer is never there yet: wait before the first recv rather than after it.
        conn.wait_readable()
        return conn.recv_into(self._buf)

    def request(self) -> int:
        self._since = monotonic()
        if self.close_each:
            try:
                return self._request_close()
            finally:
                self._since = 0.0
        sock = self._sock or self._connect()
        try:
            n = self._exchange(sock)
            if (
                n == self._fast_len
                and self._buf.startswith(self._fast_status)
                and self._buf.find(b"\r\n\r\n", 0, n) == self._fast_head
            ):
                self._since = 0.0
                return n
            size, keep = self._read_slow(sock, n)
        except OSError as exc:
            self.close()
            raise self._failure(exc, connecting=False) from None
        except RequestFailed:
            self.close()
            raise
        finally:
            self._since = 0.0
        if not keep:
            self.close()
        return size

    def _request_close(self) -> int:
        sock = self._connect()
        try:
            try:
                n = self._exchange(sock)
            except OSError as exc:  # the connection may not have been made: say so, as connect
                raise self._failure(exc, connecting=not self._sent) from None
            if (
                n == self._fast_len
                and self._buf.startswith(self._fast_status)
                and self._buf.find(b"\r\n\r\n", 0, n) == self._fast_head
            ):
                size = n
            else:
                size, _keep = self._read_slow(sock, n)
            # The server closes first; anything but the end of stream here is a protocol error.
            if sock.recv_into(self._buf) != 0:
                raise RequestFailed(Reason.PROTOCOL, "data after the response")
            return size
        except OSError as exc:
            raise self._failure(exc, connecting=False) from None
        finally:
            self.close()

    def _read_slow(self, sock: Connection, n: int) -> tuple[int, bool]:
        """Read and frame a whole response starting with buf[:n]: (size, connection reusable)."""
        if n == 0:
            raise RequestFailed(Reason.RESET, "closed before the response")
        reader = ResponseReader(MAX_RESPONSE_BYTES)
        try:
            reader.feed(memoryview(self._buf)[:n])
            while (response := reader.poll()) is None:
                n = sock.recv_into(self._buf)
                if not n:
                    response = reader.eof()
                    break
                reader.feed(memoryview(self._buf)[:n])  # feed copies: the buffer is reused
        except ResponseTooLarge:
            raise RequestFailed(Reason.TOO_LARGE, f"over {MAX_RESPONSE_BYTES} bytes") from None
        except ClosedEarly as exc:
            reason = Reason.PROTOCOL if exc.in_head else Reason.SHORT_BODY
            raise RequestFailed(reason, exc.problem) from None
        except ProtocolError as exc:  # the problem only: server text never becomes a key
            raise RequestFailed(Reason.PROTOCOL, exc.problem) from None
        head = response.head
        if not 200 <= head.status < 300:
            raise RequestFailed(Reason.BAD_STATUS, f"status {head.status}")
        if len(reader.buf) > response.end:
            raise RequestFailed(Reason.PROTOCOL, "more bytes than one response")
        keep = not response.close_delimited and _keeps_alive(head)
        # In keep-alive mode only a response that keeps the connection may take the fast path.
        if head.content_length is not None and (keep or self.close_each):
            self._learn(reader.buf, head)
        return len(reader.buf), keep

    def _learn(self, data: bytearray, head: ResponseHead) -> None:
        if head.status == 200 and len(data) <= RECV_BUFFER_BYTES:
            self._fast_len = len(data)
            self._fast_head = head.size - 4
            self._fast_status = bytes(data[: data.find(b"\r\n") + 2])


class _Watchdog:
    """One greenlet per process ends requests that outlive their client's timeout."""

    def __init__(self) -> None:
        self._clients: weakref.WeakSet[Client] = weakref.WeakSet()
        self._greenlet: gevent.Greenlet | None = None

    def add(self, client: Client) -> None:
        self._clients.add(client)
        if self._greenlet is None or self._greenlet.dead:
            self._greenlet = gevent.spawn(self._run)

    def _run(self) -> None:
        while self._clients:
            tick = min(c.timeout for c in self._clients) / 4
            gevent.sleep(min(max(tick, 0.01), WATCHDOG_MAX_TICK_S))
            now = monotonic()
            for client in list(self._clients):
                client.expire(now)


_watchdog = _Watchdog()


def _keeps_alive(head: ResponseHead) -> bool:
    tokens = head.connection_tokens()
    if "close" in tokens:
        return False
    return head.version != "HTTP/1.0" or "keep-alive" in tokens
