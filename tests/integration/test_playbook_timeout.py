"""An ansible-playbook run that overstays its timeout: stopped with what it forked, its log kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest
from fakes.owned import OWNER_VAR, owned_after, owned_processes

from swarmbench.cluster import inventory
from swarmbench.cluster.playbook import run_playbook
from swarmbench.errors import UsageError
from swarmbench.util import processes

INVENTORY = "[master]\nm\n[workers]\nw\n[targets]\nt\n[monitor]\nmon\n"
#: How long what the stop SIGKILLed may take to be gone.
LEFTOVER_WAIT_S = 5.0


def test_a_timed_out_playbook_keeps_its_log_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(
        INVENTORY + "[all:vars]\nansible_host=127.0.0.1\n"
        f"ansible_port={processes.free_port()}\nansible_user=root\n"
    )
    inv = inventory.load(path)
    token = f"playbook-{time.monotonic_ns()}"
    monkeypatch.setenv(OWNER_VAR, token)  # what ansible-playbook starts inherits it
    try:
        with pytest.raises(UsageError) as info:
            run_playbook(inv, tmp_path / "ansible", "provision", timeout_s=1.0)
        log = tmp_path / "ansible" / "provision.log"
        assert f"took over 1 s and was stopped (log: {log})" in str(info.value)
        assert log.read_text().startswith("$ ")  # the command, and whatever it said in time
        # A process the stop had to SIGKILL at its end takes a moment to go: in a full suite
        # one was seen still running just after run_playbook returned.
        leftovers = owned_after(token, LEFTOVER_WAIT_S, ignore=_ours)
        assert not leftovers, [p.cmdline() for p in leftovers]
    finally:
        monkeypatch.delenv(OWNER_VAR)
        for proc in owned_processes(token, ignore=_ours):
            proc.kill()


def _ours(proc: psutil.Process) -> bool:
    """This test process, or the reaper it keeps for as long as it runs."""
    return proc.pid == os.getpid() or "swarmbench.util.reaper" in " ".join(proc.cmdline())
