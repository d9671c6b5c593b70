"""The cluster backend's reading of a failed playbook: the one line that names the cause."""

from __future__ import annotations

from swarmbench.cluster.playbook import failure_reason

# Shaped as ansible-playbook prints a host that does not answer: the raw error of the rescued
# task, the playbook's message that includes it, and the shorter copies for the other hosts.
UNREACHABLE = """\
fatal: [ghost]: FAILED! => {"changed": false, "elapsed": 8, "msg": "timed out: no route"}
TASK [common : Stop, naming the host that does not answer.] ****
fatal: [ghost]: FAILED! => {"changed": false, "msg": "host ghost (198.18.0.99) does not answer SSH; nothing was started: timed out: no route"}
fatal: [master1]: FAILED! => {"changed": false, "msg": "host master1 (198.18.0.11) does not answer SSH; nothing was started: "}
PLAY RECAP ****
"""  # noqa: E501


def test_the_message_naming_the_cause_wins() -> None:
    assert failure_reason(UNREACHABLE) == (
        "host ghost (198.18.0.99) does not answer SSH; nothing was started: timed out: no route"
    )


def test_escaped_quotes_and_a_single_message() -> None:
    text = 'fatal: [localhost]: FAILED! => {"msg": "unknown system \\"x\\"\\nsecond line"}'
    assert failure_reason(text) == 'unknown system "x"'


def test_no_message_falls_back_to_the_last_line() -> None:
    assert failure_reason("ERROR! the playbook could not be parsed\n\n") == (
        "ERROR! the playbook could not be parsed"
    )
