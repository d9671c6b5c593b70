"""A login backend for Locust's `--web-login`: one user name and password from a file.

Locust's `--web-login` turns on Flask-Login for every route of its UI but leaves the backend to
the locustfile (docs.locust.io, "Adding authentication to the web UI"); without one every route
answers with an auth error. This is that backend, the way Locust's own example wires it: the
login page posts to /login_submit, which checks the credentials of `--web-login-file` (one line,
`USER:PASSWORD`; the cluster playbook generates it) and starts a Flask-Login session.

The session cookie is HttpOnly and SameSite=Strict (another site's page never carries it), and
Secure when the UI serves TLS. The signing key is new in each process: a restarted master asks
for a new login. A failed login waits a second before answering.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from flask import Blueprint, Response, redirect, request, session, url_for
from flask_login import UserMixin, login_user

from swarmbench.errors import UsageError

LOGIN_ROUTE = "/login_submit"
FAILED_LOGIN_PAUSE_S = 1.0
MAX_FILE_BYTES = 4096


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    @classmethod
    def read(cls, path: Path) -> Credentials:
        """The file's one `USER:PASSWORD` line; UsageError naming what is wrong with it."""
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"--web-login-file {path}: {exc.strerror or exc}") from None
        try:
            line = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UsageError(f"--web-login-file {path}: not UTF-8 text") from None
        user, sep, password = line.partition(":")
        if len(data) > MAX_FILE_BYTES or "\n" in line or not sep or not user or not password:
            raise UsageError(f"--web-login-file {path}: want one line USER:PASSWORD")
        return cls(user, password)

    def match(self, user: str, password: str) -> bool:
        # Both compared in constant time, so neither the name nor the password leaks by timing.
        same_user = hmac.compare_digest(user.encode(), self.user.encode())
        same_password = hmac.compare_digest(password.encode(), self.password.encode())
        return same_user and same_password


class _LoggedIn(UserMixin):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        self.name = name

    def get_id(self) -> str:
        return self.name


def install(web_ui: Any, credentials: Credentials, base_path: str, tls: bool) -> None:
    """Give `web_ui` (a locust.web.WebUI started with --web-login) its login backend."""
    app = web_ui.app
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=tls,
    )

    def load_user(user_id: str) -> _LoggedIn | None:
        return _LoggedIn(user_id) if hmac.compare_digest(user_id, credentials.user) else None

    web_ui.login_manager.user_loader(load_user)
    web_ui.auth_args = {"username_password_callback": base_path + LOGIN_ROUTE}
    blueprint = Blueprint("swarmbench_login", __name__, url_prefix=base_path or None)

    @blueprint.route(LOGIN_ROUTE, methods=["POST"])
    def login_submit() -> Response:
        user = request.form.get("username", "")
        if credentials.match(user, request.form.get("password", "")):
            login_user(_LoggedIn(credentials.user))
            return redirect(url_for("locust.index"))  # type: ignore[return-value]
        gevent.sleep(FAILED_LOGIN_PAUSE_S)
        session["auth_error"] = "Wrong user name or password"
        return redirect(url_for("locust.login"))  # type: ignore[return-value]

    app.register_blueprint(blueprint)
