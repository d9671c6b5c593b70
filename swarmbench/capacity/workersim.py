"""Simulated Locust workers: many in one process, each speaking Locust's own protocol.

A benchmark tool for the master, not a test double. Every simulated worker owns a real
`locust.rpc.zmqrpc.Client` (its own identity, ZeroMQ context and socket) and sends what a
`WorkerRunner` sends: client_ready, a heartbeat every HEARTBEAT_INTERVAL with state, CPU and
memory, spawning / spawning_complete on spawn (only spawning for a spawn dated at or before
the last taken or the freeze, which a worker with the plugin discards), a stats report every
WORKER_REPORT_INTERVAL (Locust's StatsEntry serialisation plus swarmbench's payload built by
worker_report), a final report on swarmbench_freeze, client_stopped / client_ready on stop,
and leaves on quit.

The load itself is not generated: each report carries one of a few pre-drawn intervals (a
realistic lognormal latency spread at --rate-per-worker, split evenly over --names request
names, each its own Locust stats entry and swarmbench histogram), so thousands of workers cost
the simulator little. What those intervals encode to is worked out once per process (Templates):
Locust's serialisation of each template's entries, restamped with the report's time, and each
histogram delta a worker can send; a report then costs what sending it costs, the same bytes
as before. What was sent is tallied per worker for the exact-totals check, and the master's
answer to each heartbeat gives a round trip: how long messages queue at the master, plus how
late this process's own loop reads the answer, which it samples apart (LAG_PROBE_S) so a
simulator that falls behind shows as such instead of as a slow master.

    python -m swarmbench.capacity.workersim --port 5557 --workers 250 --prefix sim0 --out sim0.json
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from gevent.event import Event
from locust import __version__ as locust_version
from locust import runners
from locust.rpc import Message, zmqrpc
from locust.stats import RequestStats, StatsEntry, StatsError, bucket_response_time

from swarmbench.capacity import master_bench
from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.worker_report import (
    FREEZE_MESSAGE,
    HISTOGRAMS_PER_REPORT,
    REPORT_KEY,
    frozen_at,
    histograms_to_send,
    payload,
)
from swarmbench.util import atomic, options

log = logging.getLogger(__name__)

#: Different intervals drawn once per process; reports cycle through them.
TEMPLATES = 6
#: A template draws up to this many samples (every request of a 40k req/s interval: the bucket
#: spread, and so the report size, is that of real samples), scaled up beyond that.
SAMPLES_PER_TEMPLATE = 150_000
#: One in this many requests fails (a connection reset), so reports carry Locust's errors too.
FAILURE_ONE_IN = 5_000
#: Latency spread of a loopback keep-alive run: median ~500 us, a tail to tens of ms.
LOGNORMAL_MU, LOGNORMAL_SIGMA = 6.2, 0.7
METHOD, USER_CLASS = "GET", "KeepAliveUser"
#: Loaded reports per worker whose serialised size is measured (the size barely varies).
SIZED_REPORTS = 3
#: Spread the workers' timers so they do not all fire in the same millisecond.
CONNECT_STAGGER_S = 2.0
#: How often the process checks how late its loop runs a greenlet that is due (its lag).
LAG_PROBE_S = 0.1
#: One simulator process is one gevent hub: a few thousand sockets keep it busy already.
SIM_WORKERS = options.Limit(20_000, "each simulated worker holds a socket in one process")
SIM_RATE = options.Limit(10_000_000, "far beyond what one worker core can offer")
SEEDS = options.Limit(2**32 - 1, "random.seed takes any int; 32 bits are plenty")


def request_name(index: int, names: int) -> str:
    """The simulated request names: "/" alone, or "/n0" .. "/n9" for ten."""
    return "/" if names == 1 else f"/n{index}"


@dataclass
class Interval:
    """One name's report's worth of requests: counts for Locust's entry and the histogram."""

    name: str
    requests: int
    failures: int
    response_times: dict[int, int]
    total_ms: float
    min_ms: float
    max_ms: float
    latency: LatencyHistogram


#: One report's intervals, one per request name.
Report = list[Interval]


def draw_interval(rng: random.Random, requests: int, name: str = "/") -> Interval:
    """A realistic interval: lognormal microsecond latencies scaled to `requests` samples."""
    draws = range(min(requests, SAMPLES_PER_TEMPLATE))
    samples = [int(rng.lognormvariate(LOGNORMAL_MU, LOGNORMAL_SIGMA)) + 1 for _ in draws]
    scale = max(requests // SAMPLES_PER_TEMPLATE, 1)
    latency = LatencyHistogram()
    ms: dict[int, int] = {}
    for micros in samples:
        for _ in range(scale):
            latency.record(micros)
        key = bucket_response_time((micros + 500) // 1000)
        ms[key] = ms.get(key, 0) + scale
    count = latency.count
    return Interval(
        name=name,
        requests=count,
        failures=count // FAILURE_ONE_IN,
        response_times=ms,
        total_ms=latency.mean_us * count / 1000,
        min_ms=min(samples) / 1000,
        max_ms=latency.max_us / 1000,
        latency=latency,
    )


def draw_intervals(seed: int, rate_per_worker: float, names: int = 1) -> list[Report]:
    rng = random.Random(seed)
    per_report = int(rate_per_worker * runners.WORKER_REPORT_INTERVAL)
    share = per_report / names
    return [
        [
            draw_interval(rng, int(share * rng.uniform(0.9, 1.1)), request_name(i, names))
            for i in range(names)
        ]
        for _ in range(TEMPLATES)
    ]


def stats_report(report: Report | None, now: float) -> dict[str, Any]:
    """Locust's part of a worker report: entries serialised by Locust's own StatsEntry."""
    stats = RequestStats()
    if not report:
        return {"stats": [], "stats_total": stats.total.get_stripped_report(), "errors": {}}
    first_second = int(now) - int(runners.WORKER_REPORT_INTERVAL) + 1
    errors = {}
    stats.total.start_time = now
    for interval in report:
        per_second = interval.requests // int(runners.WORKER_REPORT_INTERVAL)
        for entry in (stats.get(interval.name, METHOD), stats.total):
            _fill(entry, interval, now, first_second, per_second)
        if interval.failures:
            error = StatsError(
                METHOD, interval.name, "ConnectionResetError(104, 'Connection reset by peer')",
                occurrences=interval.failures, first_seen=float(first_second), last_seen=now,
            )  # fmt: skip
            errors[StatsError.create_key(METHOD, interval.name, error.error)] = error.serialize()
    return {
        "stats": stats.serialize_stats(),
        "stats_total": stats.total.get_stripped_report(),
        "errors": errors,
    }


def _fill(entry: StatsEntry, it: Interval, now: float, first_second: int, per_s: int) -> None:
    """Add one name's interval to a Locust entry (the total entry gets every name's)."""
    entry.start_time = now  # as if reset by the previous report: Templates restamps it
    entry.num_requests += it.requests
    entry.num_failures += it.failures
    entry.total_response_time += it.total_ms  # type: ignore[assignment]
    low = entry.min_response_time
    entry.min_response_time = it.min_ms if low is None else min(low, it.min_ms)  # type: ignore[assignment]
    entry.max_response_time = max(entry.max_response_time, it.max_ms)  # type: ignore[assignment]
    for bucket, count in it.response_times.items():
        entry.response_times[bucket] += count
    entry.total_content_length += 5 * it.requests
    entry.last_request_timestamp = now
    for k in range(int(runners.WORKER_REPORT_INTERVAL)):
        entry.num_reqs_per_sec[first_second + k] += per_s
    if it.failures:
        entry.num_fail_per_sec[int(now)] += it.failures


def _merged_delta(intervals: list[Interval]) -> bytes:
    """The delta of several intervals' histograms merged, as a worker holding them sends it."""
    if len(intervals) == 1:
        return intervals[0].latency.encode_delta()
    merged = LatencyHistogram()
    for it in intervals:
        merged.merge(it.latency)
    return merged.encode_delta()


def _restamp(entry: dict[str, Any], shift: int, now: float) -> dict[str, Any]:
    """A serialised StatsEntry moved by `shift` whole seconds to a report sent at `now`."""
    out = dict(entry)  # the same keys in the same order: the same msgpack bytes
    out["start_time"] = now
    if out["last_request_timestamp"] is not None:
        out["last_request_timestamp"] = now
    out["num_reqs_per_sec"] = {sec + shift: n for sec, n in entry["num_reqs_per_sec"].items()}
    out["num_fail_per_sec"] = {sec + shift: n for sec, n in entry["num_fail_per_sec"].items()}
    return out


class Templates:
    """The intervals a process's workers cycle through, each encoded once.

    Serialising ten names' Locust entries and merging and compressing their histograms cost
    the simulator ~1.5 ms a report, so at 1,000 workers its core was saturated and its late
    reads inflated the master's round trips. Only time stamps differ from one report of a
    template to the next, and a worker's pending histograms are always a few consecutive
    templates of one name, so both are worked out once and looked up.
    """

    #: A whole second well in the past: restamping shifts its per-second counts to the report's.
    REFERENCE_S = 1_000_000_000.0

    def __init__(self, reports: list[Report]) -> None:
        self.reports = reports
        #: Locust's part of each template, serialised at REFERENCE_S
        self._stats = [stats_report(report, self.REFERENCE_S) for report in reports]
        #: merged delta of pending intervals, keyed by their ids: the intervals are the ones
        #: self.reports holds, alive as long as this cache, so an id is never reused here
        self._deltas: dict[tuple[int, ...], bytes] = {}

    def stats(self, turn: int, now: float) -> dict[str, Any]:
        """stats_report(self.reports[turn], now), without building Locust's entries again."""
        ref = self._stats[turn]
        shift = int(now) - int(self.REFERENCE_S)
        errors = {
            key: {**error, "first_seen": error["first_seen"] + shift, "last_seen": now}
            for key, error in ref["errors"].items()
        }
        return {
            "stats": [_restamp(entry, shift, now) for entry in ref["stats"]],
            "stats_total": _restamp(ref["stats_total"], shift, now),
            "errors": errors,
        }

    def delta(self, intervals: list[Interval]) -> bytes:
        """_merged_delta(intervals), each combination encoded once."""
        key = tuple(map(id, intervals))
        delta = self._deltas.get(key)
        if delta is None:
            delta = self._deltas[key] = _merged_delta(intervals)
        return delta


@dataclass
class Tally:
    """What one simulated worker sent, for the exact-totals check."""

    requests: int = 0
    failures: int = 0
    #: request name -> requests sent under it
    by_name: dict[str, int] = field(default_factory=dict)
    reports: int = 0
    report_bytes: list[int] = field(default_factory=list)
    #: (epoch second a heartbeat was sent, seconds until the master's answer arrived)
    rtt_s: list[tuple[float, float]] = field(default_factory=list)


class SimWorker:
    """One simulated worker: a Locust rpc Client and the three loops a WorkerRunner runs."""

    def __init__(self, host: str, port: int, ident: str, templates: Templates) -> None:
        self.id = ident
        # A context per worker, as each real worker process has: a context shared by all the
        # simulated workers batched their messages and halved the master's CPU per worker.
        self.client = zmqrpc.Client(host, port, ident)
        self.templates = templates
        self.turn = random.randrange(len(templates.reports))
        self.state = runners.STATE_INIT
        self.users = 0
        self.frozen = False
        #: the date of the last spawn message taken, or of the freeze if later
        self.spawns_before = 0.0
        self.tally = Tally()
        #: per request name: intervals whose histograms have not travelled yet, and for how
        #: many reports they have waited
        self.pending: dict[str, list[Interval]] = {}
        self.waiting: dict[str, int] = {}
        self.quit = Event()
        self._heartbeats_out: deque[tuple[float, float]] = deque()

    def run(self, delay_s: float) -> None:
        gevent.sleep(delay_s)
        self.client.send(Message("client_ready", locust_version, self.id))
        loops = [gevent.spawn(f) for f in (self._receive, self._heartbeat, self._report)]
        self.quit.wait()
        gevent.killall(loops, block=True, timeout=1)
        self.client.close(linger=0)

    def _receive(self) -> None:
        while True:
            self._handle(self.client.recv())

    def _handle(self, msg: Message) -> None:
        if msg.type == "heartbeat":
            if self._heartbeats_out:
                sent, at = self._heartbeats_out.popleft()
                self.tally.rtt_s.append((sent, time.monotonic() - at))
        elif msg.type == "spawn":
            self.client.send(Message("spawning", None, self.id))
            # Locust's worker discards a spawn dated at or before the last it took, and the
            # plugin makes the freeze's date that date (engine.hooks._refuse_spawns_before).
            if msg.data["timestamp"] <= self.spawns_before:
                return
            self.spawns_before = msg.data["timestamp"]
            if self.state not in (runners.STATE_RUNNING, runners.STATE_SPAWNING):
                self.frozen = False  # a new test: Locust's worker fires test_start here
            counts = dict(msg.data["user_classes_count"])
            self.users = sum(counts.values())
            self.state = runners.STATE_RUNNING
            data = {"user_classes_count": counts, "user_count": self.users}
            self.client.send(Message("spawning_complete", data, self.id))
        elif msg.type == FREEZE_MESSAGE:
            frozen = frozen_at(msg.data)
            if frozen is not None:
                self.spawns_before = max(self.spawns_before, frozen)
            self.frozen = True
            self._send_stats(final=True)
        elif msg.type == "stop":
            self.state, self.users = runners.STATE_STOPPED, 0
            self.client.send(Message("client_stopped", None, self.id))
            self.client.send(Message("client_ready", locust_version, self.id))
            self.state = runners.STATE_INIT
        elif msg.type == "quit":
            self._send_stats(final=True)
            self.quit.set()

    def _entries(self, report: Report, *, final: bool) -> list[list[Any]]:
        """Each name's counts, and the histograms a real worker would send now: those of the
        names waiting longest (worker_report.histograms_to_send), each the merge of every
        interval it holds since it last travelled."""
        for it in report:
            self.pending.setdefault(it.name, []).append(it)
        waiting = {name: self.waiting.get(name, 0) for name in self.pending}
        send = histograms_to_send(waiting, final=final, limit=HISTOGRAMS_PER_REPORT)
        counts = {it.name: it for it in report}
        entries = []
        for name in sorted(set(counts) | send):
            interval = counts.get(name)
            delta = b""
            if name in send:
                delta = self.templates.delta(self.pending.pop(name))
                self.waiting.pop(name, None)
            requests, failures = (interval.requests, interval.failures) if interval else (0, 0)
            entries.append([METHOD, name, delta, requests, failures])
        for name in self.pending:
            self.waiting[name] = self.waiting.get(name, 0) + 1
        return entries

    def _heartbeat(self) -> None:
        while True:
            data = {"state": self.state, "current_cpu_usage": 60.0, "current_memory_usage": 60e6}
            self._heartbeats_out.append((time.time(), time.monotonic()))
            self.client.send(Message("heartbeat", data, self.id))
            gevent.sleep(runners.HEARTBEAT_INTERVAL)

    def _report(self) -> None:
        while True:
            gevent.sleep(runners.WORKER_REPORT_INTERVAL)
            self._send_stats(final=self.frozen)

    def _send_stats(self, *, final: bool) -> None:
        loaded = self.users > 0 and not self.frozen and self.state == runners.STATE_RUNNING
        turn = self.turn % len(self.templates.reports)
        report = self.templates.reports[turn] if loaded else []
        self.turn += 1
        now = time.time()
        data = self.templates.stats(turn, now) if report else stats_report(report, now)
        data["user_classes_count"] = {USER_CLASS: self.users} if self.users else {}
        data["user_count"] = self.users
        failed = sum(it.failures for it in report)
        cpu = 0.6 * runners.WORKER_REPORT_INTERVAL
        data[REPORT_KEY] = payload(
            self._entries(report, final=final), {"reset": failed} if failed else {}, cpu,
            runners.WORKER_REPORT_INTERVAL, final=final,
        )  # fmt: skip
        msg = Message("stats", data, self.id)
        self.client.send(msg)
        self.tally.reports += 1
        requests = sum(it.requests for it in report)
        if requests and len(self.tally.report_bytes) < SIZED_REPORTS:
            self.tally.report_bytes.append(len(msg.serialize()))
        self.tally.requests += requests
        self.tally.failures += failed
        for it in report:
            self.tally.by_name[it.name] = self.tally.by_name.get(it.name, 0) + it.requests


def probe_lag(out: list[tuple[float, float]]) -> None:
    """Append (epoch s, seconds late) each LAG_PROBE_S: how long a greenlet that is due waits
    for the loop, as the worker reading a heartbeat's answer waits."""
    while True:
        due = time.monotonic() + LAG_PROBE_S
        gevent.sleep(LAG_PROBE_S)
        out.append((time.time(), max(time.monotonic() - due, 0.0)))


def run(args: argparse.Namespace) -> dict[str, Any]:
    templates = Templates(draw_intervals(args.seed, args.rate_per_worker, args.names))
    workers = [
        SimWorker(args.host, args.port, f"{args.prefix}_{i:05d}", templates)
        for i in range(args.workers)
    ]
    rng = random.Random(args.seed)
    lag: list[tuple[float, float]] = []
    prober = gevent.spawn(probe_lag, lag)
    greenlets = [gevent.spawn(w.run, rng.uniform(0, CONNECT_STAGGER_S)) for w in workers]
    gevent.joinall(greenlets, timeout=args.max_seconds)
    gevent.killall([*greenlets, prober], block=True, timeout=2)
    return {
        "lag_s": [(round(t, 3), round(x, 6)) for t, x in lag],
        "workers": {
            w.id: {
                "requests": w.tally.requests,
                "failures": w.tally.failures,
                "by_name": w.tally.by_name,
                "reports": w.tally.reports,
                "report_bytes": w.tally.report_bytes,
                "rtt_s": [(round(t, 3), round(x, 6)) for t, x in w.tally.rtt_s],
                "quit": w.quit.is_set(),
            }
            for w in workers
        },
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m swarmbench.capacity.workersim", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1", help="the master's address")
    parser.add_argument("--port", type=options.port, required=True, help="--master-bind-port")
    parser.add_argument("--workers", type=options.whole(SIM_WORKERS), required=True, metavar="N")
    parser.add_argument("--prefix", default="sim", help="worker ids are PREFIX_00000, ...")
    parser.add_argument(
        "--rate-per-worker", type=options.real(SIM_RATE), default=40_000.0, metavar="R",
        help="requests/s each simulated worker reports (40,000: one fast-user core)",
    )  # fmt: skip
    parser.add_argument(
        "--names", type=options.whole(master_bench.NAMES), default=1, metavar="N",
        help="request names the load is split over (each its own stats entry and histogram)",
    )  # fmt: skip
    parser.add_argument("--seed", type=options.whole(SEEDS, low=0), default=1)
    parser.add_argument("--max-seconds", type=options.real(options.RUN_SECONDS), default=300.0)
    parser.add_argument("--out", type=Path, required=True, help="write the tally here (JSON)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    atomic.write_json(args.out, run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
