"""Running playbooks/cluster.yml from the controller, with its log kept and its reason told."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from pathlib import Path

from swarmbench.cluster.inventory import Inventory
from swarmbench.errors import UsageError
from swarmbench.util import paths, processes

log = logging.getLogger(__name__)

PLAYBOOK_TIMEOUT_S = 900.0
_MSG = re.compile(r'(?:FAILED|UNREACHABLE)! => .*?"msg": ("(?:[^"\\]|\\.)*")')


def failure_reason(text: str) -> str:
    """The playbook's own one-line reason (its checks name the group, host or system).

    A module's error that a check then names (an SSH timeout, say) reappears inside the
    check's message: the longest message that no other contains is the one naming what went
    wrong.
    """
    found = [str(json.loads(m)).strip() for m in _MSG.findall(text)]
    found = [m for m in found if m and not any(m != other and m in other for other in found)]
    if found:
        return max(found, key=len).splitlines()[0]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def run_playbook(
    inv: Inventory, log_dir: Path, name: str, *args: str, timeout_s: float = PLAYBOOK_TIMEOUT_S
) -> None:
    """ansible-playbook on the inventory; output in RUN/ansible/NAME.log; UsageError on failure."""
    log_dir.mkdir(parents=True, exist_ok=True)
    ansible = Path(sys.executable).with_name("ansible-playbook")
    cmd = [str(ansible), "-i", str(inv.path), str(paths.ROOT / "playbooks" / "cluster.yml"), *args]
    log_file = log_dir / f"{name}.log"
    started = time.monotonic()
    # Straight into the log, so a run that times out or is interrupted keeps what it said.
    with log_file.open("w") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            proc = processes.run(
                cmd, timeout=timeout_s, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            took = f"took over {timeout_s:g} s and was stopped"
            raise UsageError(f"ansible-playbook ({name}) {took} (log: {log_file})") from None
    if proc.returncode != 0:
        reason = failure_reason(log_file.read_text(errors="replace"))
        raise UsageError(f"ansible-playbook ({name}) failed: {reason} (log: {log_file})")
    log.info("ansible-playbook %s: %.1f s", name, time.monotonic() - started)
