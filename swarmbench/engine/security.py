"""swarmbench's limits on what Locust accepts: its options, and where each is put in place.

hooks calls register when the plugin is loaded (before Locust makes its runner: a master's
ZeroMQ server is then bound with its message size limit, master_guard), add_options with its
option group, and install at Locust's init event, before any other of its listeners can yield
to the web server. In each role:

master/local  the web UI checks origin, Host and the /swarm form (web_guard); with --web-login
              it gets its login backend (web_login); a --host outside --target-allowlist stops
              the start; a master bounds and checks what its port receives (master_guard)
worker        every spawn is checked against --target-allowlist (target_allowlist)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from locust.env import Environment
from locust.runners import MasterRunner, Runner, WorkerRunner

from swarmbench.engine import master_guard, web_guard, web_login
from swarmbench.engine.target_allowlist import Allowlist, check_at_start, guard_worker
from swarmbench.errors import UsageError
from swarmbench.util.options import csv_list


def register() -> None:
    """Once per process, before Locust creates a runner."""
    master_guard.use_bounded_server()


def add_options(group: Any) -> None:
    """The options; none of them appears in or is settable from Locust's web form."""
    actions = [
        group.add_argument(
            "--target-allowlist", default="", metavar="FILE", env_var="SWARMBENCH_TARGET_ALLOWLIST",
            help="load only the ADDR[:PORT] lines of FILE: a worker refuses other hosts, a "
            "master refuses them in the web form (the cluster playbook writes it)",
        ),
        group.add_argument(
            "--web-login-file", default="", metavar="FILE", env_var="SWARMBENCH_WEB_LOGIN_FILE",
            help="with --web-login: the USER:PASSWORD line the login page checks",
        ),
        group.add_argument(
            "--web-allowed-hosts", type=csv_list, default=[], metavar="NAMES",
            env_var="SWARMBENCH_WEB_ALLOWED_HOSTS",
            help="host names the web UI answers to besides loopback and its bind address",
        ),
    ]  # fmt: skip
    for action in actions:
        hide_from_web_form(action)


def hide_from_web_form(action: Any) -> None:
    """Locust's flag for options its web form must not show (web_guard refuses them too)."""
    action.include_in_web_ui = False


def install(
    environment: Environment, runner: Runner, web_ui: Any, fail: Callable[[str], None]
) -> None:
    """Put each limit in place for this process's role; bad settings: fail(one line)."""
    opts = environment.parsed_options
    try:
        path = str(getattr(opts, "target_allowlist", "") or "")
        allowlist = Allowlist.read(Path(path)) if path else None
        if isinstance(runner, WorkerRunner):
            if allowlist is not None:
                guard_worker(environment, allowlist)
            return
        if allowlist is not None:
            check_at_start(environment.host, allowlist, fail)
        if web_ui is not None:
            _install_web(environment, web_ui, allowlist)
    except UsageError as exc:
        fail(str(exc))
    if isinstance(runner, MasterRunner):
        master_guard.install(runner)


def _install_web(environment: Environment, web_ui: Any, allowlist: Allowlist | None) -> None:
    opts = environment.parsed_options
    login_file = str(getattr(opts, "web_login_file", "") or "")
    if web_ui.web_login:
        if not login_file:
            raise UsageError("--web-login needs --web-login-file FILE (one line USER:PASSWORD)")
        credentials = web_login.Credentials.read(Path(login_file))
        base = str(getattr(opts, "web_base_path", "") or "")
        web_login.install(web_ui, credentials, base, tls=bool(web_ui.tls_cert))
    elif login_file:
        raise UsageError("--web-login-file is only read with --web-login")
    names = list(getattr(opts, "web_allowed_hosts", []) or [])
    web_guard.install(environment, web_ui, allowlist, names)
