"""Test-only: the master's event loop stalls across the --run-time limit, as a master starved of
CPU does on a busy machine. Its whole process blocks (the unpatched time.sleep) from
STALL_BEFORE_S before the limit for STALL_FOR_S, so the run-time timer and the ramp-up's next
dispatch (due just after the limit) fire in the same turn of the loop. Workers, which load the
same locustfiles, are left alone."""

from typing import Any

import gevent
from gevent import monkey
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner

STALL_BEFORE_S = 0.2
STALL_FOR_S = 0.5
_blocking_sleep = monkey.get_original("time", "sleep")


@events.test_start.add_listener
def stall_at_the_limit(environment: Environment, **_kwargs: Any) -> None:
    opts = environment.parsed_options
    run_time = getattr(opts, "run_time", None)
    if isinstance(environment.runner, MasterRunner) and run_time:
        gevent.spawn_later(max(run_time - STALL_BEFORE_S, 0), _blocking_sleep, STALL_FOR_S)
