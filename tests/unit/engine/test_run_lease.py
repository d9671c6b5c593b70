"""engine.run_lease: a lease is taken once from the run's options, and runs out unless renewed."""

from __future__ import annotations

import argparse
import time

import pytest
from locust.env import Environment

from swarmbench.engine import run_lease


def _environment(lease: float) -> Environment:
    environment = Environment()
    environment.parsed_options = argparse.Namespace(run_lease=lease)
    return environment


def test_the_lease_is_taken_once_and_the_option_cleared() -> None:
    environment = _environment(30.0)
    lease = run_lease.take(environment)
    assert lease is not None and lease.seconds == 30.0
    assert not lease.expired()
    # Locust keeps form values between runs: the next run, started without one, has none.
    assert run_lease.take(environment) is None


def test_no_lease_without_the_option() -> None:
    assert run_lease.take(_environment(0.0)) is None
    environment = Environment()
    assert run_lease.take(environment) is None


def test_a_lease_runs_out_unless_renewed() -> None:
    lease = run_lease.take(_environment(1.0))
    assert lease is not None
    time.sleep(0.6)
    lease.renew()
    time.sleep(0.6)  # 1.2 s since it was taken, 0.6 s since renewed
    assert not lease.expired()
    time.sleep(0.5)
    assert lease.expired()


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "3601", "soon"])
def test_the_option_refuses_what_is_no_lease(text: str) -> None:
    parser = argparse.ArgumentParser()
    run_lease.add_option(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--run-lease", text])
