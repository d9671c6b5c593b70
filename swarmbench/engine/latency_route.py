"""GET /swarmbench/latency on the master's web UI: the last run's latency JSON over HTTP.

The file is written on the master and the bench driving it (cluster_locust) may be on another
host, so the result is served too: {"run": runs started, "finished": bool, "result": the
latency JSON of that run, or null while it runs}. The run count tells a caller whether the
result is of the run it started or of the one before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify
from locust.env import Environment

from swarmbench.engine.latency_json import stored_result

LATENCY_ROUTE = "/swarmbench/latency"


def add_latency_route(
    environment: Environment,
    web_ui: Any,
    runs_started: Callable[[], int],
    asked: Callable[[], None],
) -> None:
    """Serve `environment`'s last result on Locust's web UI (behind its auth, if enabled);
    `asked` is called on each request (it renews the run's lease, engine.run_lease)."""

    @web_ui.app.route(LATENCY_ROUTE)
    @web_ui.auth_required_if_enabled
    def latency() -> Response:
        asked()
        result = stored_result(environment)
        return jsonify({"run": runs_started(), "finished": result is not None, "result": result})
