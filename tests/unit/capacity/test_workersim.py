"""The worker simulator's cached encodings send exactly the bytes of building each report anew."""

from __future__ import annotations

import time

import pytest
from locust.rpc import Message

from swarmbench.capacity import workersim


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
