"""Which side of a run a process is on, as the hooks see it."""

from __future__ import annotations

from argparse import Namespace

from locust.env import Environment

from swarmbench.engine import hooks


def test_a_worker_whose_runner_is_not_set_yet_is_a_worker() -> None:
    # Locust's worker takes its first spawn while its runner's constructor still waits for the
    # master's ack, before Environment.runner is set.
    env = Environment(parsed_options=Namespace(worker=True))
    assert env.runner is None
    assert hooks._role(env) == "worker"


def test_without_a_runner_or_the_worker_option_it_is_local() -> None:
    assert hooks._role(Environment(parsed_options=Namespace(worker=False))) == "local"
    assert hooks._role(Environment()) == "local"
