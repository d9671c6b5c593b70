"""Generated Grafana dashboards: committed files match the code, and carry Grafana's fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from swarmbench.telemetry import dashboards
from swarmbench.util import paths

GRAFANA = paths.ROOT / "grafana"


def test_committed_dashboards_match_the_generator(tmp_path: Path) -> None:
    written = dashboards.write(tmp_path)
    assert {p.name for p in written} == {p.name for p in (GRAFANA / "dashboards").glob("*.json")}
    for fresh in written:
        committed = (GRAFANA / "dashboards" / fresh.name).read_text()
        assert committed == fresh.read_text(), (
            f"{fresh.name} is stale: run `python -m swarmbench.telemetry.dashboards`"
        )


def _provisioned_datasource() -> dict:
    files = list((GRAFANA / "provisioning" / "datasources").glob("*.yml"))
    assert files
    data = yaml.safe_load(files[0].read_text())
    assert data["apiVersion"] == 1
    (source,) = data["datasources"]
    assert source["type"] == "prometheus" and source["url"]
    return dict(source)


def test_provisioned_datasource_is_not_the_default() -> None:
    """Grafana refuses a second default datasource: provisioning beside one must still work."""
    assert _provisioned_datasource()["isDefault"] is False


@pytest.mark.parametrize("name", ["swarmbench-run.json", "swarmbench-cluster.json"])
def test_dashboard_has_the_fields_grafana_needs(name: str) -> None:
    board = json.loads((GRAFANA / "dashboards" / name).read_text())
    provisioned = _provisioned_datasource()
    uid = "${datasource}"  # every panel and query variable: the datasource variable
    assert board["uid"] and len(board["uid"]) <= 40
    assert board["title"].startswith("swarmbench / ")
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert list(variables)[:3] == ["datasource", "system", "run"]
    source = variables.pop("datasource")
    assert source["type"] == "datasource" and source["query"] == "prometheus"
    assert source["current"]["value"] == provisioned["uid"]
    assert source["current"]["text"] == provisioned["name"]
    # `run` is chained on `system`: it lists the runs of the selected systems only.
    assert '{system=~"$system"}' in variables["run"]["query"]["query"]
    for var in variables.values():
        assert var["type"] == "query" and var["datasource"]["uid"] == uid
        assert var["query"]["query"].startswith("label_values(")
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["type"] in {"timeseries", "stat", "xychart"}
        if panel["type"] == "xychart":  # x and y name the queries' legends, joined on time
            legends = [t["legendFormat"] for t in panel["targets"]]
            series = panel["options"]["series"][0]
            assert [series[a]["matcher"]["options"] for a in ("x", "y")] == legends
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"]["uid"] == uid
        assert panel["targets"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs))
        for target in panel["targets"]:
            assert target["expr"] and target["datasource"]["uid"] == uid
            used = set(re.findall(r"\$(\w+)", target["expr"]))
            assert used <= set(variables), f"{panel['title']}: undefined {used - set(variables)}"


def test_run_dashboard_covers_the_issue() -> None:
    titles = {p.title for p in dashboards.PANELS}
    for needed in ("Throughput", "Latency percentiles", "Target CPU cores", "CPU time per request"):
        assert needed in titles
    assert {"Target RSS", "Failures"} <= titles
    cluster = {p.title for p in dashboards.CLUSTER_PANELS}
    assert {"Workers", "Users", "Worker CPU", "Generator-bound", "Generator hosts CPU"} <= cluster
    (failures,) = [p for p in dashboards.PANELS if p.title == "Failures"]
    assert "{{reason}}" in failures.queries[0].legend


def test_dashboard_provider_points_at_a_folder() -> None:
    (provider_file,) = (GRAFANA / "provisioning" / "dashboards").glob("*.yml")
    (provider,) = yaml.safe_load(provider_file.read_text())["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


def test_substitute_fills_the_variables() -> None:
    expr = dashboards.PANELS[0].exprs[0]
    filled = dashboards.substitute(expr, system="node-std", run="r1")
    assert "$" not in filled and 'system=~"node-std"' in filled and 'run=~"r1"' in filled
