"""Grafana dashboards generated from code; the panels' PromQL is data the offline report reuses.

Regenerate the committed files with `python -m swarmbench.telemetry.dashboards` (a unit test fails
when grafana/dashboards/*.json differ from what this module generates). Queries use the recording
rules of deploy/prometheus/rules.yml and the variables `$system` and `$run` (regexes; the report
substitutes values, `.*` means all).

Grafana's conventions: every panel and variable takes its datasource from the `datasource`
variable (any Prometheus; default the provisioned "swarmbench Prometheus", which is not marked as
Grafana's default, so provisioning beside an existing default works); `run` lists only the runs
of the systems selected in `system`."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swarmbench.telemetry import metrics
from swarmbench.telemetry.thresholds import GENERATOR_BOUND_RATIO
from swarmbench.util import paths

#: The provisioned datasource (grafana/provisioning/datasources/swarmbench.yml).
PROVISIONED_DATASOURCE = {"name": "swarmbench Prometheus", "uid": "swarmbench-prometheus"}
#: What panels and variables reference: the dashboard's datasource variable.
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SCHEMA_VERSION = 39
GRID_COLUMNS = 24
PANEL_HEIGHT = 8
SEL = 'system=~"$system", run=~"$run"'
#: Locust's series carry `run` only through swarmbench_run_info; join on the exporter.
RUN_JOIN = f'on (job, instance) group_left (run) {metrics.RUN_INFO}{{run=~"$run"}}'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str  # Grafana unit id: reqps, s, bytes, percentunit, short, µs
    queries: tuple[Query, ...]
    description: str = ""
    kind: str = "timeseries"

    @property
    def exprs(self) -> list[str]:
        return [q.expr for q in self.queries]


def _quantile(q: float) -> Query:
    expr = f"histogram_quantile({q}, {metrics.SYSTEM_DURATION_BUCKETS_RATE}{{{SEL}}})"
    return Query(expr, f"p{round(q * 100):g} {{{{system}}}} {{{{run}}}}")


CPU_VS_THROUGHPUT = "Target CPU % against throughput"

#: The "swarmbench / run" dashboard: load and the server's cost on one time axis.
PANELS: list[Panel] = [
    Panel(
        "Throughput",
        "reqps",
        (Query(f"{metrics.SYSTEM_REQUESTS_RATE}{{{SEL}}}", "{{system}} {{run}}"),),
        "Requests/s completed, from the Locust master (10 s rate).",
    ),
    Panel(
        "Latency percentiles",
        "s",
        (_quantile(0.5), _quantile(0.9), _quantile(0.99)),
        "From the generator's latency histogram (buckets 50 us to 1 s), 10 s window.",
    ),
    Panel(
        "Target CPU cores",
        "short",
        (Query(f'{metrics.SYSTEM_TARGET_CPU_RATE}{{system=~"$system"}}', "{{system}}"),),
        "CPU seconds per second of the server's whole process tree; 1 = one core busy.",
    ),
    Panel(
        "CPU time per request",
        "s",
        (Query(f"{metrics.SYSTEM_CPU_PER_REQUEST_RATIO}{{{SEL}}}", "{{system}} {{run}}"),),
        "Target CPU time divided by requests completed over the same 10 s: the cost figure "
        "(microseconds on a fast server).",
    ),
    Panel(
        "Target RSS",
        "bytes",
        (
            Query(
                f'{metrics.TARGET_RSS_BYTES}{{system=~"$system"}}',
                "{{system}} {{host}}",
            ),
        ),
        "Resident memory summed over the server's process tree.",
    ),
    Panel(
        "Failures",
        "reqps",
        (Query(f"{metrics.SYSTEM_FAILURES_RATE}{{{SEL}}}", "{{system}} {{run}} {{reason}}"),),
        "Failed requests/s by reason: " + ", ".join(metrics.FAILURE_REASONS) + ".",
    ),
    Panel(
        CPU_VS_THROUGHPUT,
        "percent",
        (
            Query(f"sum({metrics.SYSTEM_REQUESTS_RATE}{{{SEL}}})", "requests/s"),
            Query(
                f'100 * sum({metrics.SYSTEM_TARGET_CPU_RATE}{{system=~"$system"}})',
                "target CPU %",
            ),
        ),
        "The same-traffic answer: the server's CPU (100 = one core busy) against the "
        "requests/s it served, one point per second of the run. Pick one system: at the same "
        "throughput, the system whose points sit higher spends more CPU.",
        kind="xychart",
    ),
]

#: The "swarmbench / locust cluster" dashboard: is the generator, not the server, the limit?
CLUSTER_PANELS: list[Panel] = [
    Panel(
        "Workers",
        "short",
        (Query(f"max by (run) ({metrics.WORKERS} * {RUN_JOIN})", "{{run}}"),),
        "Workers connected to the master (1 for a standalone Locust).",
    ),
    Panel(
        "Users",
        "short",
        (Query(f"max by (run) ({metrics.USERS} * {RUN_JOIN})", "{{run}}"),),
    ),
    Panel(
        "Worker CPU",
        "percentunit",
        (Query(f"{metrics.WORKER_CPU_RATIO} * {RUN_JOIN}", "{{worker}}"),),
        "Each worker's CPU as it reports to the master; 100% = one core.",
    ),
    Panel(
        "Generator-bound",
        "short",
        (
            Query(
                f"max by (run) ({metrics.WORKER_CPU_RATIO} * {RUN_JOIN})"
                f" > bool {GENERATOR_BOUND_RATIO}",
                "{{run}}",
            ),
        ),
        f"1 while any worker is above {GENERATOR_BOUND_RATIO:.0%} CPU: the generator is the limit.",
        kind="stat",
    ),
    Panel(
        "Generator hosts CPU",
        "percentunit",
        (
            Query(
                f'{metrics.HOST_CPU_UTILISATION_RATE}{{role="{metrics.ROLE_WORKERS}"}}',
                "{{host}}",
            ),
        ),
        "Each worker host's whole CPU from node_exporter (everything on it, not only Locust), "
        "beside the generator-bound flag: a busy host paces its workers.",
    ),
    Panel(
        "Requests/s generated",
        "reqps",
        (Query(f'{metrics.SYSTEM_REQUESTS_RATE}{{run=~"$run"}}', "{{system}} {{run}}"),),
    ),
]


def _datasource_variable() -> dict[str, Any]:
    """Any Prometheus the user picks; the provisioned one until they do."""
    return {
        "name": "datasource",
        "label": "datasource",
        "type": "datasource",
        "query": "prometheus",
        "regex": "",
        "refresh": 1,
        "includeAll": False,
        "multi": False,
        "current": {
            "selected": True,
            "text": PROVISIONED_DATASOURCE["name"],
            "value": PROVISIONED_DATASOURCE["uid"],
        },
        "hide": 0,
        "options": [],
    }


def _variable(name: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": DATASOURCE,
        "definition": query,
        "query": {"query": query, "refId": f"{name}-values"},
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "hide": 0,
        "options": [],
    }


VARIABLES = {
    "datasource": _datasource_variable(),
    "system": _variable("system", f"label_values({metrics.TARGET_UP}, system)"),
    # Chained: only the runs of the selected systems.
    "run": _variable("run", f'label_values({metrics.RUN_INFO}{{system=~"$system"}}, run)'),
}


def _xy_options(panel: Panel) -> dict[str, Any]:
    """An XY chart of the panel's two queries joined on time: x the first, y the second."""
    x, y = (q.legend for q in panel.queries[:2])
    return {
        "transformations": [
            {"id": "joinByField", "options": {"byField": "Time", "mode": "inner"}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}}},
        ],
        "options": {
            "seriesMapping": "manual",
            "series": [
                {
                    "x": {"matcher": {"id": "byName", "options": x}},
                    "y": {"matcher": {"id": "byName", "options": y}},
                }
            ],
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        },
    }


def _panel(index: int, panel: Panel) -> dict[str, Any]:
    width = GRID_COLUMNS // 2
    extra = _xy_options(panel) if panel.kind == "xychart" else {}
    return {
        "id": index + 1,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {
            "h": PANEL_HEIGHT,
            "w": width,
            "x": (index % 2) * width,
            "y": (index // 2) * PANEL_HEIGHT,
        },
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}},
        "targets": [
            {
                "refId": chr(ord("A") + n),
                "datasource": DATASOURCE,
                "expr": query.expr,
                "legendFormat": query.legend,
                "range": True,
            }
            for n, query in enumerate(panel.queries)
        ],
        **extra,
    }


def dashboard(uid: str, title: str, panels: list[Panel], variables: list[str]) -> dict[str, Any]:
    return {
        "uid": uid,
        "title": title,
        "tags": ["swarmbench"],
        "editable": True,
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "5s",
        "time": {"from": "now-15m", "to": "now"},
        "annotations": {"list": []},
        "links": [],
        "templating": {"list": [VARIABLES[name] for name in ["datasource", *variables]]},
        "panels": [_panel(i, p) for i, p in enumerate(panels)],
    }


def dashboards() -> dict[str, dict[str, Any]]:
    """File name -> dashboard JSON."""
    return {
        "swarmbench-run.json": dashboard(
            "swarmbench-run", "swarmbench / run", PANELS, ["system", "run"]
        ),
        "swarmbench-cluster.json": dashboard(
            "swarmbench-cluster", "swarmbench / locust cluster", CLUSTER_PANELS, ["system", "run"]
        ),
    }


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def write(out_dir: Path | None = None) -> list[Path]:
    out_dir = out_dir or paths.ROOT / "grafana" / "dashboards"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, board in dashboards().items():
        path = out_dir / name
        path.write_text(render(board))
        written.append(path)
    return written


def substitute(expr: str, system: str = ".*", run: str = ".*") -> str:
    """A panel's query with the dashboard variables filled in, for the API or the report."""
    return expr.replace("$system", system).replace("$run", run)


if __name__ == "__main__":
    for written in write(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(written)
