"""What Locust's web UI accepts: same-origin requests to its own names, and a fixed set of fields.

Locust answers every origin (flask-cors with `*`) and its POST /swarm sets any parsed option the
form names: `latency_json=/any/path` had the master write that file, `host=` aimed the fleet
anywhere, and any web page open while the user's SSH tunnel ran could do it. Here:

- Requests from another origin are refused (403): a state-changing request whose Origin is not
  the UI's own, or any request a browser marks cross-site or same-site (Sec-Fetch-Site), other
  than a plain navigation to a page. CORS headers are removed, so no other page reads answers.
- The Host header must be one of the UI's names (loopback, the address it is bound to, and
  --web-allowed-hosts): a DNS name an attacker points at 127.0.0.1 is not one of them.
- POST /swarm takes only the fields of Locust's form (users, spawn rate, host, run time, user
  classes, shape, profile), swarmbench's per-run options that name no file and no address
  (rate, system, run id, run lease) and other plugins' options Locust shows in its form; every
  value is checked by its option's own validator, and the host by the target allowlist when
  there is one.
  A refusal answers as Locust's own form errors do: {"success": false, "message": ...}.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Response, jsonify, request
from flask_login import current_user
from locust import argument_parser
from locust.env import Environment

from swarmbench.engine.target_allowlist import Allowlist

#: Fields of Locust's own start form (its /swarm handler reads them by name).
LOCUST_FORM_FIELDS = frozenset(
    {"user_count", "spawn_rate", "host", "run_time", "user_classes", "shape_class", "profile"}
)
#: swarmbench's options a run may set from the form: none names a file or an address.
SWARMBENCH_FORM_OPTIONS = frozenset({"rate", "system", "run_id", "run_lease"})
#: Labels go to Prometheus and file names: short, printable, no markup.
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$")
_LABEL_OPTIONS = frozenset({"system", "run_id"})
MAX_FIELD_CHARS = 2048
MAX_USERS = 10_000_000
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FOREIGN_SITES = frozenset({"cross-site", "same-site"})


def allowed_host_names(web_host: str, extra: Iterable[str]) -> frozenset[str] | None:
    """The names the UI answers to; None when it is bound to every address (any name works)."""
    bound = web_host.strip().strip("[]").lower()
    if bound in ("", "*", "0.0.0.0", "::"):
        return None
    return LOOPBACK_NAMES | {bound} | {name.strip().strip("[]").lower() for name in extra if name}


@dataclass(frozen=True)
class SameOrigin:
    """WSGI middleware in front of Locust's Flask app: the origin and Host checks, no CORS."""

    app: Callable[..., Iterable[bytes]]
    host_names: frozenset[str] | None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        refusal = self.refusal(environ)
        if refusal:
            body = f"swarmbench: {refusal}\n".encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]

        def without_cors(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            return start_response(status, kept, *args)

        return self.app(environ, without_cors)

    def refusal(self, environ: dict[str, Any]) -> str | None:
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        name = urlsplit("//" + host).hostname or ""
        if self.host_names is not None and name.lower() not in self.host_names:
            return (
                f"Host {host!r} is not one of this UI's names ({', '.join(sorted(self.host_names))}"
                "); add it with --web-allowed-hosts"
            )
        method = environ.get("REQUEST_METHOD", "GET")
        site = environ.get("HTTP_SEC_FETCH_SITE", "")
        origin = environ.get("HTTP_ORIGIN")
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
        if method not in _SAFE_METHODS:
            if site in _FOREIGN_SITES or (origin is not None and origin != own):
                return f"cross-origin {method} refused (Origin {origin!r}, the UI is {own})"
        elif site in _FOREIGN_SITES and environ.get("HTTP_SEC_FETCH_MODE") != "navigate":
            return f"cross-origin {method} refused (Sec-Fetch-Site {site})"
        return None


@dataclass(frozen=True)
class FormRules:
    """Which /swarm fields a run may set, each with the validator of its option."""

    validators: dict[str, Callable[[str], Any]]
    user_classes: frozenset[str]
    allowlist: Allowlist | None

    def refusal(self, form: Any) -> str | None:
        for key in form:
            validate = self.validators.get(key)
            if validate is None:
                return f"the web form cannot set {key!r}: it names no per-run setting"
            for value in form.getlist(key):
                reason = self._value_refusal(key, value, validate)
                if reason:
                    return reason
        return None

    def _value_refusal(self, key: str, value: str, validate: Callable[[str], Any]) -> str | None:
        if len(value) > MAX_FIELD_CHARS or any(ord(c) < 32 for c in value):
            return f"{key}: over {MAX_FIELD_CHARS} characters or with control characters"
        if key == "host":
            return self._host_refusal(value)
        if key == "user_classes" and value not in self.user_classes:
            return f"user_classes: no user class {value!r} (known: {sorted(self.user_classes)})"
        try:
            validate(value)
        except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
            return f"{key}: {exc}"
        return None

    def _host_refusal(self, url: str) -> str | None:
        if not url:
            return None  # Locust's own rule applies: the user classes' host, or none
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            return f"host {url!r} has a bad port"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"host {url!r} is not an http URL like http://127.0.0.1:8080/"
        if self.allowlist is not None:
            return self.allowlist.refusal(url)
        return None


def _label(text: str) -> str:
    if text and not _LABEL.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r}: letters, digits and ._:/@+- only, at most 128 characters"
        )
    return text


def _count(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_USERS:
        raise ValueError(f"{value} is not between 0 and {MAX_USERS:,}")
    return value


def _finite_positive(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{text!r} is not a finite number above 0")
    return value


def _any(text: str) -> str:
    return text


def form_rules(environment: Environment, allowlist: Allowlist | None) -> FormRules:
    """The fields this process's /swarm accepts: Locust's, swarmbench's per-run options, and
    other plugins' options that Locust shows in its form (include_in_web_ui)."""
    validators: dict[str, Callable[[str], Any]] = dict.fromkeys(LOCUST_FORM_FIELDS, _any)
    validators.update(user_count=_count, spawn_rate=_finite_positive)
    actions = dict(_custom_actions())
    for dest, action in actions.items():
        shown = getattr(action, "include_in_web_ui", False)
        if dest in SWARMBENCH_FORM_OPTIONS or shown:
            validators[dest] = action.type if callable(action.type) else _any
    for dest in _LABEL_OPTIONS & validators.keys():
        validators[dest] = _label
    classes = frozenset(environment.available_user_classes or environment.user_classes_by_name)
    return FormRules(validators, classes, allowlist)


def _custom_actions() -> Iterator[tuple[str, argparse.Action]]:
    """Options added by locustfiles and plugins, with their argparse actions."""
    parser = argument_parser.get_parser()
    locusts_own = argument_parser.default_args_dict()
    for action in parser._actions:
        if action.dest not in locusts_own:
            yield action.dest, action


def install(
    environment: Environment,
    web_ui: Any,
    allowlist: Allowlist | None,
    extra_host_names: Iterable[str],
) -> None:
    """Put the checks in front of `web_ui` (a locust.web.WebUI), before it serves a request."""
    opts = environment.parsed_options
    web_host = str(getattr(opts, "web_host", "") or "")
    names = allowed_host_names(web_host, extra_host_names)
    web_ui.app.wsgi_app = SameOrigin(web_ui.app.wsgi_app, names)
    rules = form_rules(environment, allowlist)

    @web_ui.app.before_request
    def check_swarm_form() -> Response | None:
        if request.endpoint != "locust.swarm":
            return None
        if web_ui.web_login and not current_user.is_authenticated:
            return None  # the view's login check answers: nothing is told before a login
        reason = rules.refusal(request.form)
        if reason is None:
            return None
        return jsonify({"success": False, "message": reason, "host": environment.host})
