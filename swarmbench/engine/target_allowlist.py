"""Where a Locust process may send load: an allowlist of target addresses, checked at the source.

The cluster playbook writes the file from the `targets` group (one `ADDR:PORT` line per target)
and starts the master and every worker with `--target-allowlist FILE`. Entries are `ADDR` or
`ADDR:PORT` (`[v6]:PORT` for IPv6), `#` starts a comment. A URL is allowed when its host equals
an entry's address and, where the entry names a port, its port (80 or 443 by scheme when the
URL names none). No name is resolved: the check is of what the URL says, exactly, so nothing
between the check and the connection can change its meaning (the playbook writes addresses).

Workers read the file once at start and keep it: the options a master sends with every spawn
message cannot replace it. Each spawn is checked before a user starts (guard_worker); a host
outside the list starts no user, and the refusal goes to the worker's log and, as an exception,
to the master's web UI. The master checks the /swarm form's host too (web_guard), so a refused
run is refused at once, with the reason, where it was asked for.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from swarmbench.errors import UsageError

if TYPE_CHECKING:
    from locust.env import Environment
    from locust.runners import WorkerRunner

log = logging.getLogger(__name__)

#: A larger file is not an allowlist someone wrote: refused rather than read.
MAX_FILE_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _normal_host(host: str) -> str:
    """Lower case, IPv6 brackets off, IP addresses in their one canonical spelling."""
    bare = host.strip().strip("[]").lower()
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return bare


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _entry(text: str) -> tuple[str, int | None]:
    """`ADDR`, `ADDR:PORT` or `[V6]:PORT` as (host, port or None); ValueError if malformed."""
    try:
        return _normal_host(str(ipaddress.ip_address(text))), None  # a bare IPv6 has colons
    except ValueError:
        pass
    parts = urlsplit("//" + text)
    if not parts.hostname or parts.path or parts.query or parts.username:
        raise ValueError(f"{text!r} is not ADDR or ADDR:PORT")
    port = parts.port  # raises ValueError on a bad port
    if port == 0:
        raise ValueError(f"{text!r}: port 0")
    if not _HOST_NAME.match(parts.hostname) and not _is_ip(parts.hostname):
        raise ValueError(f"{text!r}: {parts.hostname!r} is not a host name or address")
    return _normal_host(parts.hostname), port


@dataclass(frozen=True)
class Allowlist:
    """The targets a process may load, and the file they came from (for messages)."""

    entries: tuple[tuple[str, int | None], ...]
    source: str

    @classmethod
    def parse(cls, text: str, source: str) -> Allowlist:
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            item = line.split("#", 1)[0].strip()
            if not item:
                continue
            try:
                entries.append(_entry(item))
            except ValueError as exc:
                raise UsageError(f"--target-allowlist {source} line {number}: {exc}") from None
        return cls(tuple(entries), source)

    @classmethod
    def read(cls, path: Path) -> Allowlist:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise UsageError(f"--target-allowlist {path}: {exc.strerror or exc}") from None
        if len(data) > MAX_FILE_BYTES:
            raise UsageError(f"--target-allowlist {path}: over {MAX_FILE_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"--target-allowlist {path}: not UTF-8 text") from None
        return cls.parse(text, str(path))

    def describe(self) -> str:
        if not self.entries:
            return "nothing (the list is empty)"
        shown = [
            (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
            for host, port in self.entries
        ]
        return ", ".join(shown)

    def refusal(self, url: str) -> str | None:
        """None when `url` may be loaded; otherwise why not, in one line."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            return f"{url!r} is not a URL with a valid port"
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or port is None:
            return f"{url!r} is not an http(s) URL with a host"
        host = _normal_host(parts.hostname)
        for allowed_host, allowed_port in self.entries:
            if host == allowed_host and allowed_port in (None, port):
                return None
        return f"{url} is not in the target allowlist {self.source}, which allows {self.describe()}"


def refused_hosts(hosts: Iterable[str | None], allowlist: Allowlist) -> list[str]:
    """The reasons each given host is refused (None or '' are no host, not a refusal)."""
    reasons = (allowlist.refusal(host) for host in hosts if host)
    return sorted({reason for reason in reasons if reason})


def guard_worker(environment: Environment, allowlist: Allowlist) -> None:
    """Check every spawn on this worker against `allowlist` before a user starts.

    Locust has no hook between a spawn message and its users starting, so the worker runner's
    start_worker is wrapped: a refused spawn runs zero users (the worker still answers the
    master as a worker that spawned, so the run's protocol stays intact and users it was
    already running stop), and says why in its log and on the master's UI.
    """
    from locust.runners import WorkerRunner  # here, not at the top: see _report_refusal

    runner = environment.runner
    assert isinstance(runner, WorkerRunner)
    start = runner.start_worker

    def checked_start(user_classes_count: dict[str, int], **kwargs: Any) -> None:
        classes = runner.user_classes_by_name
        hosts = [
            environment.host or getattr(classes.get(name), "host", None)
            for name, count in user_classes_count.items()
            if count > 0
        ]
        reasons = refused_hosts(hosts, allowlist)
        if reasons:
            _report_refusal(runner, "; ".join(reasons))
            user_classes_count = dict.fromkeys(user_classes_count, 0)
        start(user_classes_count, **kwargs)

    runner.start_worker = checked_start  # type: ignore[method-assign]


def _report_refusal(runner: WorkerRunner, reason: str) -> None:
    # Locust is imported where it is used: the wrk/ab runner on a worker host (cluster.loadgen)
    # checks the same file, and importing Locust there would patch its threads with gevent.
    from locust.rpc import Message

    message = f"worker {runner.client_id} refuses to load: {reason}; it runs no users"
    log.error(message)
    # Locust's own channel for a worker's errors: the master lists it under Exceptions.
    runner.client.send(Message("exception", {"msg": message, "traceback": ""}, runner.client_id))


def check_at_start(host: str | None, allowlist: Allowlist, fail: Callable[[str], None]) -> None:
    """A master or standalone run given --host outside the allowlist stops before it starts."""
    reason = allowlist.refusal(host) if host else None
    if reason:
        fail(f"--host {reason}")
