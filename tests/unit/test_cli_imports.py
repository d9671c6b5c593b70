"""The `swarmbench` command runs without gevent: importing Locust monkey-patches the whole
process (threads become greenlets, blocking calls run in gevent's hub), and a SIGTERM or SIGHUP
that lands while the hub runs is then printed by gevent as a traceback before the command ends.
What runs inside Locust, or talks to it as a worker does (the worker simulator), runs in its own
process and imports Locust there."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_command_line_leaves_locust_and_gevent_out() -> None:
    probe = (
        "import sys, swarmbench.cli; "
        "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
