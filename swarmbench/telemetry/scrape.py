"""One read of an exporter's /metrics: a counter family's total over its series."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def counter_total(metrics_url: str, family: str, timeout_s: float) -> float | None:
    """The sum of `family`'s _total series at `metrics_url`; None when it cannot be read or the
    exporter does not export it."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=timeout_s) as resp:
            text = resp.read().decode()
    except (OSError, ValueError):
        return None
    for found in text_string_to_metric_families(text):
        if found.name == family:
            return sum(s.value for s in found.samples if s.name.endswith("_total"))
    return None
