"""One TCP connection for one greenlet: a non-blocking OS socket and the gevent waits on it.

gevent's socket makes a read and a write watcher for every socket (each checks its descriptor
with a fcntl call), and its close hands the watchers to the hub before the descriptor is
closed. Without keep-alive the HTTP client opens a connection per request, and a profile of a
close-mode run (tokio, 64 users, one generator core) had a third of the Locust process's time
outside the kernel in making and closing gevent sockets. This makes the read watcher with the
socket, the write watcher only when a connect or send has to wait, and closes the watchers
before the descriptor, as gevent does, so libev never watches a number the kernel has already
given to another socket.

Its waits switch straight from the hub back to the waiting greenlet. gevent's own wait puts a
Waiter object between the watcher and the greenlet; with keep-alive every request waits once,
and without it a bare loop of 64 greenlets (send, wait, recv against tokio on another core)
spent about a microsecond less Python per request, 15-20% of the loop's user time.

A connection belongs to one greenlet. Another greenlet (the client's watchdog) may only
`abort()` it, which wakes the owner with the given error.
"""

from __future__ import annotations

# The C module: Locust's monkey patching replaces socket.socket, not _socket.socket.
import _socket
import errno
import os
from typing import Any

from gevent import get_hub, getcurrent
from gevent.exceptions import InvalidSwitchError

#: libev's event masks
_READ = 1
_WRITE = 2
#: What a ready watcher hands the waiting greenlet; any other wake-up is a stray switch.
_READY = object()


class Connection:
    """A TCP socket, non-blocking underneath; its calls block only the calling greenlet."""

    __slots__ = ("_hub", "_read", "_write", "sock")

    def __init__(self, family: int = _socket.AF_INET) -> None:
        self.sock = _socket.socket(family, _socket.SOCK_STREAM | _socket.SOCK_NONBLOCK)
        self._hub = get_hub()
        # Every request waits for its answer: the read watcher is always needed.
        self._read = self._hub.loop.io(self.sock.fileno(), _READ)
        self._write = None

    # -- connecting ---------------------------------------------------------------------------
    def start_connect(self, addr: tuple[str, int]) -> bool:
        """Start the handshake without waiting for it (the first send waits if it must); True
        when it is already over, as on loopback it usually is before connect returns."""
        err = self.sock.connect_ex(addr)
        if err and err != errno.EINPROGRESS:
            raise OSError(err, os.strerror(err))  # OSError picks the subclass, e.g. refused
        return not err

    def connect(self, addr: tuple[str, int]) -> None:
        """Connect, waiting for the handshake to finish."""
        if self.start_connect(addr):
            return
        self.wait_writable()
        err = self.sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))

    # -- data ---------------------------------------------------------------------------------
    def sendall(self, data: bytes) -> None:
        """Send all of data; waits only when the socket's buffer is full (or not connected yet)."""
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return
        view = memoryview(data)
        while sent < len(data):
            self.wait_writable()
            try:
                sent += self.sock.send(view[sent:])
            except BlockingIOError:
                continue

    def recv_into(self, buf: bytearray) -> int:
        """One recv into buf (0: the peer closed), waiting only when nothing is there yet."""
        while True:
            try:
                return int(self.sock.recv_into(buf))
            except BlockingIOError:
                self.wait_readable()

    def wait_readable(self) -> None:
        if self._read is None:
            raise OSError(errno.EBADF, "connection closed")
        self._wait(self._read)

    def wait_writable(self) -> None:
        if self._read is None:
            raise OSError(errno.EBADF, "connection closed")
        if self._write is None:
            self._write = self._hub.loop.io(self.sock.fileno(), _WRITE)
        self._wait(self._write)

    def _wait(self, watcher: Any) -> None:
        """Sleep until watcher fires, without gevent's Waiter (see the module's docstring).

        The hub's cancel_wait (abort) throws into the greenlet the callback belongs to, as it
        does into a Waiter's; any other switch into the waiting greenlet is an error, as there.
        """
        watcher.start(getcurrent().switch, _READY)
        try:
            woken = self._hub.switch()
        finally:
            watcher.stop()
        if woken is not _READY:
            raise InvalidSwitchError(f"stray switch into a greenlet waiting on a socket: {woken!r}")

    # -- ending -------------------------------------------------------------------------------
    def set_nodelay(self) -> None:
        self.sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)

    def close(self) -> None:
        """Close, by the owning greenlet (which is not waiting): watchers first, then the fd."""
        for watcher in (self._read, self._write):
            if watcher is not None:
                watcher.close()
        self._read = self._write = None
        self.sock.close()

    def abort(self, error: BaseException) -> None:
        """Close from another greenlet: a waiting owner wakes with error, then the fd closes.

        The hub throws into the owner and closes its watcher in a callback; the descriptor's
        close is queued after that callback, so it never happens while libev watches it.
        """
        for watcher in (self._read, self._write):
            if watcher is not None:
                self._hub.cancel_wait(watcher, error, True)
        self._read = self._write = None
        self._hub.loop.run_callback(self.sock.close)
