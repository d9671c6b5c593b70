"""The worker simulator's cached encodings send exactly the bytes of building each report anew."""

from __future__ import annotations

import time

import pytest
from locust.rpc import Message, zmqrpc

from swarmbench.capacity import workersim
from swarmbench.engine import worker_report


@pytest.mark.parametrize("names", [1, 10])
def test_a_templates_stats_are_locusts_serialisation_byte_for_byte(
    names: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # few, small templates (drawing is slow), every name failing some requests
    monkeypatch.setattr(workersim, "TEMPLATES", 2)
    monkeypatch.setattr(workersim, "FAILURE_ONE_IN", 100)
    templates = workersim.Templates(workersim.draw_intervals(7, 2_000, names))
    for now in (time.time(), 1_700_000_000.0, 1_700_000_002.999):
        for turn, report in enumerate(templates.reports):
            fresh = Message("stats", workersim.stats_report(report, now), "w").serialize()
            cached = Message("stats", templates.stats(turn, now), "w").serialize()
            assert cached == fresh
    # failures and per-second counts travel, so the restamped fields are in what was compared
    sample = templates.stats(0, 1_700_000_000.0)
    assert sample["errors"]
    assert min(sample["stats_total"]["num_reqs_per_sec"]) == 1_700_000_000 - 2


def test_a_merged_delta_is_encoded_once_and_is_the_merge_of_its_intervals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workersim, "TEMPLATES", 3)
    templates = workersim.Templates(workersim.draw_intervals(7, 2_000, 2))
    pending = [report[1] for report in templates.reports]
    delta = templates.delta(pending)
    assert delta == workersim._merged_delta(pending)
    assert templates.delta(list(pending)) is delta
    assert templates.delta(pending[:1]) == pending[0].latency.encode_delta()


def _received(master: zmqrpc.Server) -> list[str]:
    """The types of the messages the master has received, once none arrives for 0.2 s."""
    types = []
    while master.socket.poll(200):
        types.append(master.recv_from_client()[1].type)
    return types


def test_a_spawn_dated_before_the_last_taken_or_the_freeze_is_discarded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As a real worker with the plugin: Locust discards a spawn dated at or before the last it
    took, and the freeze's date becomes that date (a spawn the master sent late, after the run
    ended, starts nothing). Each spawn is still answered "spawning", as Locust's worker does."""
    monkeypatch.setattr(workersim, "TEMPLATES", 1)
    templates = workersim.Templates(workersim.draw_intervals(7, 100, 1))
    master = zmqrpc.Server("127.0.0.1", 0)
    worker = workersim.SimWorker("127.0.0.1", master.port, "sim_0", templates)

    def spawn(at: float, users: int) -> list[str]:
        data = {"timestamp": at, "user_classes_count": {"HttpUser": users}}
        worker._handle(Message("spawn", data, "master"))
        return _received(master)

    try:
        taken, discarded = ["spawning", "spawning_complete"], ["spawning"]
        assert spawn(100.0, 4) == taken and worker.users == 4
        assert spawn(100.0, 9) == discarded and worker.users == 4  # the same date
        assert spawn(99.0, 9) == discarded and worker.users == 4  # older
        freeze = {worker_report.FREEZE_TIMESTAMP_KEY: 200.0}
        worker._handle(Message(worker_report.FREEZE_MESSAGE, freeze, "master"))
        assert _received(master) == ["stats"]  # the final report
        assert spawn(150.0, 9) == discarded and worker.users == 4  # built before the freeze
        assert spawn(201.0, 9) == taken and worker.users == 9  # the next run's
    finally:
        worker.client.close(linger=0)
        master.close(linger=0)
