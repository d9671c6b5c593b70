"""telemetry.metrics is the one list of names: the rules and the scrape config use the same."""

from __future__ import annotations

import re

import yaml

from swarmbench.telemetry import metrics
from swarmbench.util import paths

PROMETHEUS = paths.ROOT / "deploy" / "prometheus"


def test_every_recording_rule_is_named_in_metrics_and_no_other() -> None:
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
    recorded = [rule["record"] for group in groups for rule in group["rules"]]
    assert sorted(recorded) == sorted(metrics.RECORDING_RULES)


def test_scrape_jobs_are_the_named_ones() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {metrics.JOB_TARGET, metrics.JOB_LOCUST, metrics.JOB_NODE} <= jobs


#: level:metric:operations; no _total in a rate's metric, no unit but base units.
RULE_NAME = re.compile(r"^[a-z_]+:[a-z][a-z0-9_]*:[a-z0-9_]+$")
NOT_BASE_UNITS = ("_us", "_ms", "cores", "_percent", "_total")


def test_recording_rules_follow_prometheus_naming() -> None:
    groups = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"]
    recorded = [rule["record"] for group in groups for rule in group["rules"]]
    for name in recorded:
        assert RULE_NAME.match(name), name
        _, metric, operations = name.split(":")
        assert not any(part in metric for part in NOT_BASE_UNITS), name
        if operations.startswith(("rate", "ratio_rate")):
            assert operations.endswith("10s"), name
