"""A hand-written ZeroMQ client that joins a Locust master as a worker and sends it garbage.

Run on a host the firewall admits to the master's port (a worker host), with that host's
installed swarmbench: `python - MASTER_HOST PORT < rogue_worker.py`. It speaks Locust's
protocol by hand (pyzmq and Locust's msgpack Message, no Locust runner): it registers, answers
the master's spawn and stop messages as a worker that runs no users, and, once a run starts,
sends the master:

- garbage: bytes that are not msgpack, messages of the wrong shape for their type (one bad
  heartbeat stopped Locust's receive loop), a report forged in a real worker's name, a report
  from a node that never registered, counts out of range, a log flood;
- a zlib bomb: a request name's histogram delta of 256 MiB of zeros compressed to ~260 KB, in an
  otherwise valid report;
- a message over the master's size limit.

Then it sends a valid final report with no requests when the master asks for it, so the run's
totals can be exact, and leaves when that run stops (or the master quits, or after
ROGUE_SECONDS). It prints one line
per thing sent, and "rogue: done" at the end.
"""

from __future__ import annotations

import sys
import time
import uuid
import zlib

import msgpack
import zmq
from locust import __version__ as locust_version
from locust.rpc import Message

from swarmbench.engine.worker_report import FREEZE_MESSAGE, REPORT_KEY, payload

ROGUE_SECONDS = 60
BOMB_BYTES = 256 << 20
#: version 1, first bucket 0, 4,096 buckets: a delta that may expand to 40 KB at most
BOMB_HEADER = b"\x01\x00\x00\x00\x00\x00\x10\x00\x00"


def locust_stats() -> dict:
    """Locust's part of a report with nothing in it, as an idle worker sends it."""
    total = {
        "name": "Aggregated", "method": "", "last_request_timestamp": None,
        "start_time": time.time(), "num_requests": 0, "num_none_requests": 0,
        "num_failures": 0, "total_response_time": 0, "max_response_time": 0,
        "min_response_time": None, "total_content_length": 0, "response_times": {},
        "num_reqs_per_sec": {}, "num_fail_per_sec": {},
    }  # fmt: skip
    return {
        "stats": [], "stats_total": total, "errors": {},
        "user_classes_count": {}, "user_count": 0,
    }  # fmt: skip


def report(*, final: bool, requests: int = 0, histogram: bytes = b"") -> dict:
    """A report of `requests` to one request name, with `histogram` as that name's delta."""
    data = locust_stats()
    entries = [["GET", "/", histogram, requests, 0]] if requests or histogram else []
    data[REPORT_KEY] = payload(entries, {}, 0.0, 3.0, final=final)
    return data


def zlib_bomb() -> bytes:
    deflate = zlib.compressobj(9)
    zeros = bytes(1 << 20)
    body = b"".join(deflate.compress(zeros) for _ in range(BOMB_BYTES >> 20)) + deflate.flush()
    return BOMB_HEADER + body


class Rogue:
    def __init__(self, host: str, port: int) -> None:
        self.id = f"rogue_{uuid.uuid4().hex}"
        self.socket = zmq.Context().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.IDENTITY, self.id.encode())
        # Made before joining: a worker that stops sending heartbeats to compress a gigabyte
        # would be marked lost, and the run's totals called incomplete for that.
        self.bomb = zlib_bomb()
        self.endpoint = f"tcp://{host}:{port}"
        self.socket.connect(self.endpoint)
        self.attacked = False

    def send(self, kind: str, data: object, node: str | None = None) -> None:
        self.socket.send(Message(kind, data, node or self.id).serialize())

    def raw(self, payload: bytes, what: str) -> None:
        self.socket.send(payload)
        print(f"rogue: sent {what} ({len(payload):,} bytes)", flush=True)

    def attack(self, victim: str | None) -> None:
        """Everything a worker must never be able to do to its master."""
        self.raw(b"\xc1\xc1\xc1 not msgpack at all", "garbage bytes")
        self.raw(msgpack.dumps(["stats", None]), "a two-field message")
        self.raw(msgpack.dumps({"not": "a tuple"}), "a map for a message")
        for kind, data in (
            ("heartbeat", None),
            ("heartbeat", {"state": "running", "current_cpu_usage": "lots"}),
            ("stats", "garbage"),
            ("stats", {**report(final=False), "stats": [{"name": None}]}),
            ("stats", report(final=False, requests=10**12)),
            ("stats", report(final=False, requests=-5)),
            ("spawning_complete", {"user_classes_count": "x", "user_count": 1}),
            ("exception", {"msg": 12, "traceback": None}),
            ("logs", {"worker_id": self.id, "logs": ["x" * 100] * 5_000}),
            ("no_such_message", {}),
        ):
            self.send(kind, data)
            print(f"rogue: sent a malformed {kind}", flush=True)
        forged = report(final=False, requests=1_000_000)
        if victim:
            self.send("stats", forged, node=victim)
            print(f"rogue: sent a report in {victim}'s name", flush=True)
        stranger = self.socket.context.socket(zmq.DEALER)
        stranger.setsockopt(zmq.IDENTITY, b"stranger_0")
        stranger.connect(self.endpoint)
        stranger.send(Message("stats", forged, "stranger_0").serialize())
        stranger.close(linger=2000)
        print("rogue: sent a report from a node that never registered", flush=True)
        self.raw(Message("stats", report(final=False, histogram=self.bomb), self.id).serialize(),
                 "a zlib bomb of 256 MiB")  # fmt: skip
        self.raw(Message("stats", {"pad": bytes(8 << 20)}, self.id).serialize(), "8 MiB")
        self.attacked = True

    def run(self, victim: str | None) -> None:
        self.send("client_ready", locust_version)
        deadline = time.monotonic() + ROGUE_SECONDS
        next_beat = 0.0
        state = "ready"  # Locust's worker states: ready until spawned, running after
        while time.monotonic() < deadline:
            if time.monotonic() >= next_beat:
                beat = {"state": state, "current_cpu_usage": 1.0, "current_memory_usage": 1}
                self.send("heartbeat", beat)
                next_beat = time.monotonic() + 1
            if not self.socket.poll(200):
                continue
            msg = Message.unserialize(self.socket.recv())
            if msg.type == "spawn":
                state = "running"
                self.send("spawning", None)
                counts = dict.fromkeys(msg.data["user_classes_count"], 0)
                self.send("spawning_complete", {"user_classes_count": counts, "user_count": 0})
                if not self.attacked:
                    self.attack(victim)
            elif msg.type == FREEZE_MESSAGE:
                self.send("stats", report(final=True))
                print("rogue: sent a valid final report", flush=True)
            elif msg.type == "stop":
                self.send("client_stopped", None)
                if self.attacked:
                    break  # the run it attacked is over: leave
                state = "ready"
                self.send("client_ready", locust_version)
            elif msg.type == "quit":
                break
        self.send("quit", None)
        print("rogue: done", flush=True)


if __name__ == "__main__":
    victim_id = sys.argv[3] if len(sys.argv) > 3 else None
    Rogue(sys.argv[1], int(sys.argv[2])).run(victim_id)
