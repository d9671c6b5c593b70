"""What a run's start opens and its end produces on the master (or a standalone Locust).

Start: the HdrHistogram interval log when one is asked for. End, once every final report is
merged: the target's last CPU reading, the latency JSON (latency_json), the thresholds checked
against it (a miss sets Locust's exit code to locust_thresholds.EXIT_MISSED), the .hgrm files; the
result is written and kept for GET /swarmbench/latency.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from locust.env import Environment

from swarmbench.engine.hdr_export import IntervalLog, write_distributions
from swarmbench.engine.latency_json import build_result, json_path, store_result
from swarmbench.engine.locust_thresholds import EXIT_MISSED, Figures, check, missed
from swarmbench.engine.plugin_options import hdr_prefix, thresholds_of
from swarmbench.engine.run_state import RunState
from swarmbench.util import atomic

log = logging.getLogger(__name__)

#: The Environment attribute saying the exit code is this plugin's (a threshold was missed).
_EXIT_CODE_OURS = "swarmbench_set_exit_code"


def open_interval_log(opts: Any, started: float) -> IntervalLog | None:
    prefix = hdr_prefix(opts)
    return IntervalLog(Path(f"{prefix}.hlog"), started) if prefix else None


def finish_run(environment: Environment, state: RunState) -> dict[str, Any]:
    """The run's result, with everything the options asked for; written and stored."""
    opts = environment.parsed_options
    if state.target_cpu is not None:
        state.target_cpu.sample(state.requests)
    result = build_result(state, state.latency)
    outcomes = check(thresholds_of(opts), Figures.from_latency_json(result))
    result["thresholds"] = [{**o.as_dict(), "message": o.message()} for o in outcomes]
    _exit_code(environment, missed=bool(missed(outcomes)))
    for outcome in missed(outcomes):
        log.error("threshold missed: %s", outcome.message())
    prefix = hdr_prefix(opts)
    if state.interval_log is not None:
        state.interval_log.close(time.time())
    if prefix:
        write_distributions(prefix, state.latency, state.names)
    path = json_path(opts)
    if path:
        atomic.write_json(Path(path), result)
    store_result(environment, result)
    return result


def _exit_code(environment: Environment, *, missed: bool) -> None:
    """A missed threshold exits EXIT_MISSED; a later run (web mode) that meets them clears it,
    unless someone else set the code meanwhile."""
    if missed:
        environment.process_exit_code = EXIT_MISSED
        setattr(environment, _EXIT_CODE_OURS, True)
    elif getattr(environment, _EXIT_CODE_OURS, False):
        if environment.process_exit_code == EXIT_MISSED:
            environment.process_exit_code = None
        setattr(environment, _EXIT_CODE_OURS, False)
