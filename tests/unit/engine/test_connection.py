"""swarmbench.engine.connection's waits, on real loopback sockets inside gevent's hub."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import gevent
import pytest
from gevent.exceptions import InvalidSwitchError

from swarmbench.engine.connection import Connection


@pytest.fixture
def pair() -> Iterator[tuple[Connection, socket.socket]]:
    """A connected Connection and the plain socket at the other end."""
    listener = socket.create_server(("127.0.0.1", 0))
    conn = Connection()
    conn.connect(listener.getsockname())
    peer, _ = listener.accept()
    listener.close()
    yield conn, peer
    peer.close()
    if conn._read is not None:
        conn.close()


def test_a_waiting_greenlet_wakes_when_the_answer_arrives(
    pair: tuple[Connection, socket.socket],
) -> None:
    conn, peer = pair
    buf = bytearray(16)
    reader = gevent.spawn(lambda: conn.recv_into(buf))
    gevent.sleep(0.01)
    assert not reader.ready()  # nothing sent yet: it waits, and the hub runs others
    peer.sendall(b"hello")
    assert reader.get(timeout=2) == 5
    assert bytes(buf[:5]) == b"hello"
    # The watcher was stopped after the wake-up: the next wait starts it again cleanly.
    conn.sendall(b"ping")
    assert peer.recv(4) == b"ping"
    peer.sendall(b"again")
    assert gevent.spawn(lambda: conn.recv_into(buf)).get(timeout=2) == 5


def test_abort_wakes_the_owner_with_the_error_then_closes(
    pair: tuple[Connection, socket.socket],
) -> None:
    conn, _peer = pair
    fd = conn.sock.fileno()
    reader = gevent.spawn(conn.wait_readable)
    gevent.sleep(0.01)
    conn.abort(TimeoutError("no answer in time"))
    with pytest.raises(TimeoutError, match="no answer in time"):
        reader.get(timeout=2)
    gevent.sleep(0)  # the descriptor's close is queued after the wake-up
    assert conn.sock.fileno() == -1 != fd
    with pytest.raises(OSError, match="connection closed"):
        conn.wait_readable()


def test_a_stray_switch_is_an_error_not_a_wake_up(
    pair: tuple[Connection, socket.socket],
) -> None:
    """Only the watcher may end the wait: anything else switching in must not read as ready."""
    conn, peer = pair
    reader = gevent.spawn(conn.wait_readable)
    gevent.sleep(0.01)
    # The intruder never resumes (the reader's failure returns to the hub), so nobody joins it.
    gevent.spawn(reader.switch, "not the watcher")
    with pytest.raises(InvalidSwitchError, match="not the watcher"):
        reader.get(timeout=2)
    # The failed wait left no watcher running: the connection still waits and wakes normally.
    peer.sendall(b"x")
    assert gevent.spawn(conn.wait_readable).get(timeout=2) is None
