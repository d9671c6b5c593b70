"""`python -m swarmbench.util.reaper`: stops a swarmbench command's process groups once it is gone.

swarmbench.util.processes starts this once per command, in its own session, with a pipe on its
stdin that only the command holds. The command writes "+PGID" for each process group it starts
and "-PGID" for each it stops. When the pipe ends (the command exited, however: normally, on an
exception, or killed with SIGKILL, which no handler in the command can catch), every group still
listed gets SIGTERM, then SIGKILL after the grace period. Not a user command.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterable
from contextlib import suppress

#: Between SIGTERM and SIGKILL, as swarmbench.util.processes.STOP_TIMEOUT_S.
GRACE_S = 5.0
POLL_S = 0.05


def group_alive(pgid: int) -> bool:
    """Some process of group `pgid` still exists."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(groups: Iterable[int], sig: signal.Signals) -> None:
    for pgid in groups:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def stop_groups(groups: set[int], grace_s: float = GRACE_S) -> None:
    """SIGTERM each group, SIGKILL what is left after `grace_s`."""
    _signal(groups, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(group_alive(g) for g in groups):
        time.sleep(POLL_S)
    _signal([g for g in groups if group_alive(g)], signal.SIGKILL)


def read_groups(lines: Iterable[str]) -> set[int]:
    """The groups still listed when the lines end."""
    groups: set[int] = set()
    for line in lines:
        op, number = line[:1], line[1:].strip()
        if not number.isdigit():
            continue
        if op == "+":
            groups.add(int(number))
        elif op == "-":
            groups.discard(int(number))
    return groups


def main() -> int:
    # A terminal's Ctrl-C or hang-up is for the command; this outlives it to clean up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    groups = read_groups(sys.stdin)
    if groups:
        stop_groups(groups)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
