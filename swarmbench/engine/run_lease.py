"""A web-mode run its starter must keep asking for: --run-lease S, a /swarm form field.

The cluster bench starts each Locust cell with POST /swarm on the long-running master, then
polls GET /swarmbench/latency until the result is there. A bench killed with SIGKILL cannot
stop the run it started (its reaper ends the SSH tunnel, not the run), and the master would
load the target until the run time ended it. With a lease of S seconds each GET of the result
renews it, and a run whose lease ran out is stopped, with a warning in the master's log.

The lease is taken once, at the run's start, and the option is cleared there: Locust keeps
form values between runs, and a run started from the web UI afterwards has no lease. Runs
started without one (the web UI, headless, --autostart) are never stopped by it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING, Runner

from swarmbench.util import options

log = logging.getLogger(__name__)

OPTION = "--run-lease"
LEASE_SECONDS = options.Limit(3600, "a starter that cannot ask for its result hourly is gone")
#: How often the lease is checked, at most (a short lease is checked more often).
CHECK_EVERY_S = 1.0


@dataclass
class Lease:
    seconds: float
    until: float

    def renew(self) -> None:
        self.until = time.monotonic() + self.seconds

    def expired(self) -> bool:
        return time.monotonic() > self.until


def add_option(group: Any) -> None:
    # Hidden from the web UI's form (a person starting a run there has no lease to keep), but
    # accepted in it: web_guard lets swarmbench's per-run options through by name.
    action = group.add_argument(
        OPTION, type=options.real(LEASE_SECONDS, open_low=False, unit="s"), default=0.0,
        metavar="S",
        help="stop a web-mode run when GET /swarmbench/latency was not asked for S seconds "
        "(0: never); the cluster bench sets it in each run's /swarm form",
    )  # fmt: skip
    action.include_in_web_ui = False


def take(environment: Environment) -> Lease | None:
    """The lease the run's /swarm form asked for, if any; the option is cleared."""
    opts = environment.parsed_options
    seconds = float(getattr(opts, "run_lease", 0) or 0)
    if opts is not None:
        opts.run_lease = 0.0
    if seconds <= 0:
        return None
    return Lease(seconds, time.monotonic() + seconds)


def watch(lease: Lease, runner: Runner) -> None:
    """Stop the run once its lease has run out (a greenlet of the run, killed at its end)."""
    while True:
        gevent.sleep(min(CHECK_EVERY_S, lease.seconds / 4))
        if lease.expired() and runner.state in (STATE_SPAWNING, STATE_RUNNING):
            log.warning(
                "no one asked for this run's result for %g s (its --run-lease): stopping it",
                lease.seconds,
            )
            # Its own greenlet: the stop ends the run's greenlets, this one among them.
            gevent.spawn(runner.stop)
            return
