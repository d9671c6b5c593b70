"""What the master accepts on its ZeroMQ port: real workers' messages pass, the rest is named."""

from __future__ import annotations

import random
import zlib

import msgpack
import pytest
from locust.rpc import Message
from locust.stats import RequestStats, StatsEntry

from swarmbench.engine import message_checks
from swarmbench.engine.latency import LatencyHistogram
from swarmbench.engine.message_checks import Malformed, check_message
from swarmbench.engine.worker_report import REPORT_KEY, NameTally, take_payload

NODE = "worker1_0123abcd"


def _report(requests: int = 1000, histogram: bytes | None = None) -> dict:
    stats = RequestStats()
    entry = stats.get("/", "GET")
    for ms in (1, 2, 2, 5):
        entry.log(ms, 5)
    total = StatsEntry(stats, "Aggregated", "")
    total.extend(entry)
    latency = LatencyHistogram()
    for micros in range(1, requests + 1):
        latency.record(micros)
    names = {("GET", "/"): NameTally(latency, requests, 2)}
    payload = take_payload(names, {"reset": 2}, 0.5, 3.0, final=False)
    if histogram is not None:
        payload["names"][0][2] = histogram
    return {
        "stats": [entry.serialize()],
        "stats_total": total.serialize(),
        "errors": {},
        "user_classes_count": {"KeepAliveUser": 4},
        "user_count": 4,
        REPORT_KEY: payload,
    }


def _frames(kind: str, data: object, node: str = NODE, sender: str = NODE) -> list[bytes]:
    return [sender.encode(), Message(kind, data, node).serialize()]


def _check(frames: list[bytes], known: tuple[str, ...] = (NODE,)) -> Message:
    return check_message(frames, known, ())[1]


def test_what_a_real_worker_sends_passes() -> None:
    assert _check(_frames("client_ready", "2.47.0"), known=()).type == "client_ready"
    heartbeat = {"state": "running", "current_cpu_usage": 12.5, "current_memory_usage": 6e7}
    assert _check(_frames("heartbeat", heartbeat)).data == heartbeat
    assert _check(_frames("stats", _report())).type == "stats"
    done = {"user_classes_count": {"KeepAliveUser": 4}, "user_count": 4}
    assert _check(_frames("spawning_complete", done)).type == "spawning_complete"
    assert _check(_frames("logs", {"worker_id": NODE, "logs": ["a line"]})).type == "logs"
    assert _check(_frames("exception", {"msg": "boom", "traceback": ""})).type == "exception"


@pytest.mark.parametrize(
    ("frames", "why"),
    [
        ([b"only one frame"], "frames"),
        ([NODE.encode(), b"\xc1\xc1 not msgpack"], "not a Locust message"),
        ([NODE.encode(), msgpack.dumps([1, 2])], "not a Locust message"),
        ([NODE.encode(), b"x" * (message_checks.MAX_MESSAGE_BYTES + 1)], "bytes"),
        (_frames("stats", _report(), node="worker2_ffff"), "naming node"),
        (_frames("heartbeat", None), "heartbeat"),
        (_frames("heartbeat", {"state": "running", "current_cpu_usage": float("nan")}), "cpu"),
        (_frames("stats", "garbage"), "not a map"),
        (_frames("stats", {**_report(), "stats": [{"name": 1}]}), "name"),
        (_frames("stats", {**_report(), "user_count": -1}), "user_count"),
        (_frames("logs", {"worker_id": "someone_else", "logs": []}), "another worker"),
        (_frames("no_such_type", {}), "unknown message type"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(frames: list[bytes], why: str) -> None:
    with pytest.raises(Malformed, match=why):
        _check(frames)


def _response_times(counts: dict) -> list[bytes]:
    data = _report()
    data["stats"][0]["response_times"] = counts
    return _frames("stats", data)


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        ({1: 3, 2: -1}, r"stats\[0\]\.response_times\[2\] is not a count"),
        ({1: True}, r"response_times\[1\] is not a count"),
        ({1: 10**11}, r"response_times\[1\] is not a count"),
        ({1: 2.0}, r"response_times\[1\] is not a count"),
        ({"1": 3}, "response_times key is not a finite number"),
        ({-1: 3}, "response_times key is not a finite number"),
        ({float("nan"): 3}, "response_times key is not a finite number"),
    ],
)
def test_every_count_in_a_stats_map_is_checked(counts: dict, why: str) -> None:
    with pytest.raises(Malformed, match=why):
        _check(_response_times(counts))


def test_a_stats_map_of_whole_or_fractional_keys_passes() -> None:
    assert _check(_response_times({1: 3, 120: 0, 2.5: 1})).type == "stats"
    assert _check(_response_times({})).type == "stats"


def test_reports_count_only_from_workers_that_registered() -> None:
    with pytest.raises(Malformed, match="not a connected worker"):
        _check(_frames("stats", _report()), known=())


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"requests": 10**11}, "requests"),
        ({"requests": "1000"}, "requests"),
        ({"requests": True}, "requests"),
        ({"failures": {"reset": 2000}}, "more failures"),
        ({"names": [["GET", "/", b"", 10, 20]], "requests": 10}, "more failures than requests in"),
        ({"names": [["GET", "/", b"", 10, 0]]}, "add up to 10, not 1000"),
        ({"names": [["GET", "/", b""]]}, "5 fields"),
        ({"names": [["GET", "/", b"", 1, 0]] * 102}, "short list"),
        ({"failures": {f"r{i}": 0 for i in range(100)}}, "failures"),
        ({"cpu_seconds": float("inf")}, "cpu_seconds"),
        ({"wall_seconds": -1.0}, "wall"),
        ({"names": [["GET", "/", "text", 1000, 2]]}, "histogram is not bytes"),
    ],
)
def test_swarmbench_report_fields_are_checked(change: dict, why: str) -> None:
    data = _report()
    data[REPORT_KEY].update(change)
    with pytest.raises(Malformed, match=why):
        _check(_frames("stats", data))


def test_a_zlib_bomb_is_refused_after_its_bound_not_inflated() -> None:
    inflate = zlib.compressobj()
    body = b"".join(inflate.compress(bytes(1 << 20)) for _ in range(256)) + inflate.flush()
    assert len(body) < 300_000  # 256 MiB of zeros
    bomb = b"\x01\x00\x00\x00\x00\x10\x00\x00\x00" + body  # 4,096 buckets: 40 KB at most
    with pytest.raises(Malformed, match="expands beyond"):
        _check(_frames("stats", _report(histogram=bomb)))


def test_random_bytes_never_pass_or_raise_anything_else() -> None:
    rng = random.Random(13)
    for _ in range(2000):
        blob = rng.randbytes(rng.randint(0, 200))
        with pytest.raises(Malformed):
            _check([NODE.encode(), blob])
    histogram_junk = [rng.randbytes(rng.randint(0, 64)) for _ in range(500)]
    for junk in histogram_junk:
        with pytest.raises(Malformed):
            _check(
                _frames("stats", _report(histogram=b"\x01\x00\x00\x00\x00\x10\x00\x00\x00" + junk))
            )
