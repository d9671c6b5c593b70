"""The master's ZeroMQ port, bounded: what a worker (or anyone who reaches 5557) can make it do.

Locust's master reads whatever arrives and trusts it (message_checks says how that goes wrong).
Two limits sit in front of Locust's receive loop, the only place every message passes:

- ZeroMQ itself drops a peer that sends a message over MAX_MESSAGE_BYTES (ZMQ_MAXMSGSIZE), so no
  larger message is ever buffered. The option must be set before the port is bound, and Locust
  creates and binds its server in one constructor, so use_bounded_server() (called when the
  plugin is loaded, before any runner exists) gives Locust's rpc module a Server subclass that
  sets it in between; Locust's own binding code is repeated there.
- Each message is checked (message_checks.check_message) before Locust's handler sees it; a
  malformed one is logged (at most one line per sender a second, with a count of the rest) and
  dropped, and the receive loop goes on, so the run goes on. Until install() gives the checks
  the master's runner (Locust's init event), every well-formed message counts as from a worker.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import zmq.green as zmq
from locust.exception import RPCError
from locust.rpc import Message, zmqrpc
from locust.runners import MasterRunner
from zmq.error import ZMQError

from swarmbench.engine.message_checks import MAX_MESSAGE_BYTES, Malformed, check_message

log = logging.getLogger(__name__)

DROP_LOG_INTERVAL_S = 1.0
#: Nodes remembered as registered workers (ever sent client_ready); beyond it the oldest go.
MAX_KNOWN_WORKERS = 100_000


@dataclass
class DropLog:
    """One log line per sender per interval, with how many drops it stands for."""

    interval_s: float = DROP_LOG_INTERVAL_S
    last: dict[str, float] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    total: int = 0

    def note(self, sender: str, reason: str) -> None:
        self.total += 1
        now = time.monotonic()
        if now - self.last.get(sender, -self.interval_s) < self.interval_s:
            self.suppressed[sender] = self.suppressed.get(sender, 0) + 1
            return
        if len(self.last) > MAX_KNOWN_WORKERS:
            self.last.clear()
            self.suppressed.clear()
        self.last[sender] = now
        more = self.suppressed.pop(sender, 0)
        also = f" (and {more} more dropped from it since the last line)" if more else ""
        log.warning("dropped a message from %s: %s%s", sender[:80], reason, also)


class _AnyNode:
    """Before install(): no runner to ask, every node counts as known."""

    def __contains__(self, node: object) -> bool:
        return True


@dataclass
class InboundGuard:
    """Which nodes are workers of this master, and what was dropped."""

    runner: MasterRunner | None = None
    drops: DropLog = field(default_factory=DropLog)
    #: nodes that registered (client_ready) since the guard began: with Locust's own clients,
    #: the workers whose reports count (a worker Locust removed at its stop still reports once)
    registered: dict[str, None] = field(default_factory=dict)

    def __contains__(self, node: object) -> bool:
        if self.runner is None:
            return True
        return node in self.registered or node in self.runner.clients

    def check(self, frames: list[bytes]) -> tuple[str, Message] | None:
        """The message, or None after logging why it was dropped."""
        custom = self.runner.custom_messages if self.runner is not None else {}
        try:
            sender, msg = check_message(frames, self, custom)
        except Malformed as why:
            self.drops.note(_printable_sender(frames), str(why))
            return None
        if msg.type == "client_ready":
            self.registered[sender] = None
            while len(self.registered) > MAX_KNOWN_WORKERS:
                del self.registered[next(iter(self.registered))]
        return sender, msg


#: One master per process (Locust's rule): the servers it makes, also after a reset, use this.
_inbound = InboundGuard()


class BoundedServer(zmqrpc.Server):
    """Locust's ZeroMQ server with ZMQ_MAXMSGSIZE set before binding, receiving only checked
    messages."""

    def __init__(self, host: str, port: int) -> None:  # Locust's Server.__init__, plus the option
        zmqrpc.BaseSocket.__init__(self, zmq.ROUTER, self.ipv4_only(host, port))
        self.socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        if port == 0:
            self.port = self.socket.bind_to_random_port(f"tcp://{host}")
            return
        try:
            self.socket.bind(f"tcp://{host}:{port}")
            self.port = port
        except ZMQError as exc:
            raise RPCError(f"Socket bind failure: {exc}") from exc

    def recv_from_client(self) -> tuple[str, Message]:
        """Locust's receive, but only ever returning a well-formed message."""
        while True:
            try:
                frames = self.socket.recv_multipart()
            except ZMQError as exc:
                raise RPCError("ZMQ network broken") from exc
            checked = _inbound.check(frames)
            if checked is not None:
                return checked


def _printable_sender(frames: list[bytes]) -> str:
    if not frames:
        return "?"
    return frames[0][:80].decode("utf-8", "replace")


def use_bounded_server() -> None:
    """Make every Locust master of this process use BoundedServer (before any runner exists)."""
    zmqrpc.Server = BoundedServer  # type: ignore[misc]


def install(runner: MasterRunner) -> InboundGuard:
    """From now on, reports and logs count only from `runner`'s workers."""
    if not isinstance(runner.server, BoundedServer):
        log.warning("the master's ZeroMQ server is not swarmbench's: its messages are unchecked")
    _inbound.runner = runner
    return _inbound
