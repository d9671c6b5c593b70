"""swarmbench's tab in Locust's web UI: microsecond percentiles per request name, live.

Locust's documented way to extend its UI (its examples/extend_web_ui.py): a tab and its table
declared in the page's template arguments ("extended_tabs", "extended_tables"), and the table's
rows added as "extended_stats" to the /stats/requests answer the page polls every few seconds.
Rows come from the run's merged histograms on the master (a standalone Locust reports to itself
first), one per request name and an "Aggregated" one, which carries the target's CPU per
request when --target-metrics names a collector.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, request

from swarmbench.engine.run_state import RunState

TAB_KEY = "swarmbench"
TAB_TITLE = "swarmbench latency"  # the UI upper-cases tab titles: "µs" would read "MS"
#: (row key, column title); keys stay plain snake_case, which the UI turns into camelCase on
#: both the table's structure and the rows alike.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("method", "Type"),
    ("name", "Name"),
    ("requests", "# Requests"),
    ("failures", "# Fails"),
    ("p50_us", "p50 µs"),
    ("p90_us", "p90 µs"),
    ("p99_us", "p99 µs"),
    ("p999_us", "p99.9 µs"),
    ("max_us", "Max µs"),
    ("target_cpu_us", "Target CPU µs/req"),
)
STATS_PATH = "/stats/requests"


def rows(state: RunState | None) -> list[dict[str, Any]]:
    """One row per request name, sorted by name, then the Aggregated row."""
    if state is None:
        return []
    found = [
        _row(method, name, t.requests, t.failures, t.latency.summary())
        for (method, name), t in sorted(state.names.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]
    total = _row("", "Aggregated", state.requests, sum(state.failures.values()),
                 state.latency.summary())  # fmt: skip
    cpu = state.target_cpu.us_per_request() if state.target_cpu is not None else None
    total["target_cpu_us"] = "" if cpu is None else f"{cpu:,.1f}"
    return [*found, total]


def _row(
    method: str, name: str, requests: int, failures: int, lat: dict[str, float | int]
) -> dict[str, Any]:
    return {
        "method": method,
        "name": name,
        "requests": requests,
        "failures": failures,
        "p50_us": lat["p50"],
        "p90_us": lat["p90"],
        "p99_us": lat["p99"],
        "p999_us": lat["p99.9"],
        "max_us": lat["max"],
        "target_cpu_us": "",
    }


def add_tab(web_ui: Any, current: Callable[[], RunState | None]) -> None:
    """Declare the tab on Locust's page and fill its rows on every /stats/requests answer."""
    args = web_ui.template_args
    args["extended_tabs"] = [*args.get("extended_tabs", []), {"title": TAB_TITLE, "key": TAB_KEY}]
    structure = [{"key": key, "title": title} for key, title in COLUMNS]
    tables = args.get("extended_tables", [])
    args["extended_tables"] = [*tables, {"key": TAB_KEY, "structure": structure}]

    @web_ui.app.after_request
    def add_rows(response: Response) -> Response:
        if not request.path.endswith(STATS_PATH) or response.status_code != 200:
            return response
        data = response.get_json(silent=True)
        if not isinstance(data, dict):
            return response
        # Another plugin's tab may be there too: keep its rows. Locust caches this answer for
        # a moment and hands the same response back, which may hold this tab's older rows.
        others = [e for e in data.get("extended_stats", []) if e.get("key") != TAB_KEY]
        extended = [*others, {"key": TAB_KEY, "data": rows(current())}]
        data["extended_stats"] = extended
        response.set_data(web_ui.app.json.dumps(data))
        return response
