"""What a Locust master accepts from its ZeroMQ port: each message's shape, bounded, or why not.

Locust trusts its workers: a message of the wrong shape raises inside the master's only receive
loop (one bad heartbeat stops it hearing from every worker), bytes that are not msgpack escape
its error handling the same way, a stats message from a node that never registered is merged
into the run's totals, and swarmbench's histogram was decompressed without a bound. These pure
functions say whether one received message is one a real worker sends; master_guard drops the
others before Locust sees them. They know Locust's worker-to-master messages (runners.py,
stats.py) and swarmbench's report (worker_report); a new message type must be added here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Mapping
from typing import Any

from locust.rpc import Message

from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.worker_report import MAX_NAMES, REPORT_KEY, WorkerReport, read_report

#: A worker's report is ~4 KB; Locust's stats for a few hundred request names fit in this.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MAX_NAME_CHARS = 8192
MAX_TEXT_CHARS = 64 * 1024
MAX_ENTRIES = 10_000
MAX_DICT_ITEMS = 100_000
MAX_LOG_LINES = 1_000
MAX_FAILURE_REASONS = 64
#: Far above what a worker does in one report interval (3 s): a count beyond it is forged.
MAX_REQUESTS_PER_REPORT = 10**10
MAX_SECONDS = 10**7
_WORKER_STATES = frozenset({"ready", "spawning", "running", "cleanup", "stopping", "stopped"})
#: Messages a node that never sent client_ready may send (Locust answers or ignores them).
_BEFORE_READY = frozenset({"client_ready", "locustfile", "quit", "heartbeat"})
#: Only its bucket layout is read to vet a delta (delta_count adds nothing to it): one for the
#: process, as building a 136 KiB histogram per request name per report cost the master more
#: than merging the report did (~0.1 ms each, 1,000 ten-name reports every 3 s).
_LAYOUT = LatencyHistogram()


class Malformed(ValueError):
    """Why a message is dropped, in words for the master's log."""


def _need(ok: bool, why: str) -> None:
    if not ok:
        raise Malformed(why)


def _text(value: Any, what: str, limit: int = MAX_TEXT_CHARS) -> None:
    _need(isinstance(value, str) and len(value) <= limit, f"{what} is not text of <= {limit} chars")


def _count(value: Any, what: str, limit: int = MAX_REQUESTS_PER_REPORT) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
    _need(ok, f"{what} is not a count in 0..{limit}")


def _number(value: Any, what: str, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    _need(ok and math.isfinite(value) and value >= 0, f"{what} is not a finite number >= 0")


def _dict(value: Any, what: str, limit: int = MAX_DICT_ITEMS) -> Mapping[Any, Any]:
    _need(isinstance(value, dict) and len(value) <= limit, f"{what} is not a map of <= {limit}")
    return value  # type: ignore[no-any-return]


def _counts_by_int(value: Any, what: str) -> None:
    counts = _dict(value, what)
    # The usual map (whole-number keys and counts) passes without a call and a message per item:
    # a ten-name report holds ~1,000 of them, and checking each alone cost the master as much
    # as merging the report. Anything else is checked item by item, for the message.
    if all(type(key) is int and key >= 0 for key in counts) and all(
        type(count) is int and 0 <= count <= MAX_REQUESTS_PER_REPORT for count in counts.values()
    ):
        return
    for key, count in counts.items():
        _number(key, f"{what} key")
        _count(count, f"{what}[{key}]")


def check_stats_entry(entry: Any, what: str) -> None:
    """One of Locust's StatsEntry.serialize() dicts."""
    fields = _dict(entry, what, 64)
    _text(fields.get("name"), f"{what}.name", MAX_NAME_CHARS)
    _text(fields.get("method"), f"{what}.method", 64)
    for key in ("num_requests", "num_none_requests", "num_failures", "total_content_length"):
        _count(fields.get(key), f"{what}.{key}", 2**62)
    for key in ("total_response_time", "max_response_time", "start_time"):
        _number(fields.get(key), f"{what}.{key}")
    _number(fields.get("min_response_time"), f"{what}.min_response_time", optional=True)
    _number(fields.get("last_request_timestamp"), f"{what}.last_request_timestamp", optional=True)
    for key in ("response_times", "num_reqs_per_sec", "num_fail_per_sec"):
        _counts_by_int(fields.get(key), f"{what}.{key}")


def check_locust_stats(data: Mapping[str, Any]) -> None:
    """Locust's own part of a report: its stats entries, total, errors and user counts."""
    entries = data.get("stats")
    _need(isinstance(entries, list) and len(entries) <= MAX_ENTRIES, "stats is not a short list")
    for index, entry in enumerate(entries):  # type: ignore[arg-type]
        check_stats_entry(entry, f"stats[{index}]")
    check_stats_entry(data.get("stats_total"), "stats_total")
    for key, error in _dict(data.get("errors"), "errors", MAX_ENTRIES).items():
        _text(key, "an error's key", MAX_NAME_CHARS)
        fields = _dict(error, f"errors[{key!r}]", 16)
        for name in ("method", "name", "error"):
            _text(fields.get(name), f"an error's {name}")
        _count(fields.get("occurrences"), "an error's occurrences")
        _number(fields.get("first_seen"), "an error's first_seen", optional=True)
        _number(fields.get("last_seen"), "an error's last_seen", optional=True)
    _check_user_counts(data)


def _check_user_counts(data: Mapping[str, Any]) -> None:
    for name, count in _dict(data.get("user_classes_count"), "user_classes_count", 1000).items():
        _text(name, "a user class name", 256)
        _count(count, f"user_classes_count[{name}]")
    _count(data.get("user_count"), "user_count")


def check_swarmbench_report(report: WorkerReport) -> None:
    """swarmbench's part: counts in range and adding up, each request name's histogram
    decoding within its bound."""
    _count(report.requests, "swarmbench requests")
    _need(len(report.failures) <= MAX_FAILURE_REASONS, "too many failure reasons")
    for reason, count in report.failures.items():
        _text(reason, "a failure reason", 128)
        _count(count, f"failures[{reason}]")
    _need(sum(report.failures.values()) <= report.requests, "more failures than requests")
    for value, what in ((report.cpu_seconds, "cpu_seconds"), (report.wall_seconds, "wall")):
        _number(value, what)
        _need(value <= MAX_SECONDS, f"{what} is beyond {MAX_SECONDS} s")
    _need(len(report.names) <= MAX_NAMES + 1, f"more than {MAX_NAMES + 1} request names")
    for part in report.names:
        _text(part.method, "a request's method", 64)
        _text(part.name, "a request's name", MAX_NAME_CHARS)
        _count(part.requests, f"requests of {part.name[:80]!r}")
        _count(part.failures, f"failures of {part.name[:80]!r}")
        _need(part.failures <= part.requests, f"more failures than requests in {part.name[:80]!r}")
        # A name's histogram may hold several reports' samples (it waits its turn), so it is
        # bounded like a count, not by this report's requests.
        try:
            samples = _LAYOUT.delta_count(part.histogram)
        except ValueError as exc:
            raise Malformed(str(exc)) from None
        _need(samples <= MAX_REQUESTS_PER_REPORT, f"a histogram of {samples} samples")
    total = sum(part.requests for part in report.names)
    _need(total == report.requests, f"names' requests add up to {total}, not {report.requests}")


def _check_payload_types(payload: Any) -> None:
    """The raw types, before read_report converts them (it would take "12" for 12)."""
    fields = _dict(payload, "swarmbench's report", 32)
    _count(fields.get("requests"), "swarmbench requests")
    _dict(fields.get("failures"), "failures", MAX_FAILURE_REASONS)
    for key in ("cpu_seconds", "wall_seconds"):
        _number(fields.get(key), key)
    _need(isinstance(fields.get("final"), bool), "final is not true or false")
    names = fields.get("names")
    _need(isinstance(names, list) and len(names) <= MAX_NAMES + 1, "names is not a short list")
    for entry in names:  # type: ignore[union-attr]
        _need(isinstance(entry, list) and len(entry) == 5, "a name's entry is not 5 fields")
        _need(isinstance(entry[2], bytes), "a name's histogram is not bytes")
        for count in entry[3:]:
            _count(count, "a name's count")


def check_report(data: Any) -> None:
    """A worker's "stats" message data: Locust's part and, when present, swarmbench's."""
    _need(isinstance(data, dict), "a report that is not a map")
    check_locust_stats(data)
    payload = data.get(REPORT_KEY)
    if payload is None:
        return
    _check_payload_types(payload)
    try:
        report = read_report(data)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise Malformed(f"swarmbench's report: {type(exc).__name__}: {exc}") from None
    assert report is not None
    check_swarmbench_report(report)


def _check_heartbeat(data: Any) -> None:
    fields = _dict(data, "heartbeat", 16)
    _need(fields.get("state") in _WORKER_STATES, "heartbeat state is not a worker state")
    _number(fields.get("current_cpu_usage"), "current_cpu_usage")
    if "current_memory_usage" in fields:
        _number(fields["current_memory_usage"], "current_memory_usage")


def _check_spawning_complete(data: Any) -> None:
    _check_user_counts(_dict(data, "spawning_complete", 16))


def _check_logs(data: Any, node: str) -> None:
    fields = _dict(data, "logs", 16)
    _need(fields.get("worker_id") == node, "logs for another worker")
    lines = fields.get("logs")
    _need(isinstance(lines, list) and len(lines) <= MAX_LOG_LINES, "logs is not a short list")
    for line in lines:  # type: ignore[union-attr]
        _text(line, "a log line")


def _check_exception(data: Any) -> None:
    fields = _dict(data, "exception", 16)
    _text(fields.get("msg"), "exception msg")
    _text(fields.get("traceback"), "exception traceback")


def _check_ready(data: Any) -> None:
    ok = data == -1 or (isinstance(data, str) and 0 < len(data) <= 64)
    _need(ok, "client_ready without a Locust version")


def _check_locustfile(data: Any) -> None:
    _text(_dict(data, "locustfile", 16).get("version"), "locustfile version", 64)


def _no_check(data: Any) -> None:
    return None


_CHECKS: dict[str, Callable[[Any], None]] = {
    "client_ready": _check_ready,
    "heartbeat": _check_heartbeat,
    "stats": check_report,
    "spawning": _no_check,
    "spawning_complete": _check_spawning_complete,
    "exception": _check_exception,
    "client_stopped": _no_check,
    "quit": _no_check,
    "locustfile": _check_locustfile,
}


def check_message(
    frames: list[bytes], known_workers: Container[str], custom_types: Container[str]
) -> tuple[str, Message]:
    """(sender, message) from one multipart ZeroMQ message, or Malformed saying why not.

    The sender is ZeroMQ's routing id of the connection; the message must name the same node,
    so no connection speaks for another worker. Results and logs come only from registered
    workers.
    """
    _need(len(frames) == 2, f"{len(frames)} frames, not 2")
    try:
        sender = frames[0].decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("a sender id that is not UTF-8") from None
    _need(0 < len(sender) <= 256, "a sender id of more than 256 characters")
    _need(len(frames[1]) <= MAX_MESSAGE_BYTES, f"over {MAX_MESSAGE_BYTES} bytes")
    try:
        msg = Message.unserialize(frames[1])
    except Exception as exc:  # msgpack raises many types on arbitrary bytes
        raise Malformed(f"not a Locust message ({type(exc).__name__})") from None
    _need(isinstance(msg.type, str) and len(msg.type) <= 64, "a message type that is not text")
    _need(msg.node_id == sender, f"a message naming node {str(msg.node_id)[:80]!r}")
    if msg.type not in _BEFORE_READY:
        _need(sender in known_workers, f"{msg.type} from a node that is not a connected worker")
    if msg.type == "logs":
        _check_logs(msg.data, sender)
        return sender, msg
    check = _CHECKS.get(msg.type)
    if check is None:
        _need(msg.type in custom_types, f"unknown message type {msg.type[:64]!r}")
        return sender, msg
    check(msg.data)
    return sender, msg
