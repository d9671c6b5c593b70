"""`swarmbench collector`: export one target server's CPU, memory, threads and fds to Prometheus."""

from __future__ import annotations

import argparse
import logging
import re
import signal
import socket
import threading
from pathlib import Path
from types import FrameType

from prometheus_client import CollectorRegistry, start_http_server

from swarmbench.collectors.target import (
    TargetCollector,
    by_listen_port,
    by_pid,
    by_pidfile,
)
from swarmbench.errors import UsageError
from swarmbench.util import options

log = logging.getLogger(__name__)

DEFAULT_BIND = "127.0.0.1:9645"
_LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def bind_address(text: str) -> tuple[str, int]:
    """ADDR:PORT (ADDR may be empty for all addresses, or [v6])."""
    addr, sep, port_text = text.rpartition(":")
    if not sep:
        raise options.invalid(text, "is not ADDR:PORT, e.g. 127.0.0.1:9645")
    try:
        return addr.strip("[]"), int(options.port(port_text))
    except argparse.ArgumentTypeError as exc:
        raise options.invalid(text, f"has a bad port: {exc}") from None


def label_value(text: str) -> str:
    if not _LABEL.match(text):
        raise options.invalid(text, "is not a label value: use 1-64 letters, digits, _ . : -")
    return str(text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "collector",
        help="export a target server's process-tree CPU and memory as Prometheus /metrics",
    )
    parser.add_argument(
        "--system", type=label_value, required=True, metavar="NAME", help="`system` label value"
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pid", type=options.whole(options.PID), metavar="P", help="server's PID")
    where.add_argument("--pidfile", type=Path, metavar="F", help="file holding the server's PID")
    where.add_argument(
        "--listen-port", type=options.port, metavar="P", help="find the server by its TCP port"
    )
    parser.add_argument(
        "--bind",
        type=bind_address,
        default=options.env("COLLECTOR_BIND", DEFAULT_BIND),
        metavar="ADDR:PORT",
        help=f"where to serve /metrics (default {DEFAULT_BIND}; SWARMBENCH_COLLECTOR_BIND)",
    )
    parser.add_argument(
        "--host-label",
        type=label_value,
        default=options.env("HOST_LABEL") or socket.gethostname(),
        metavar="H",
        help="`host` label value (default: this machine's hostname; SWARMBENCH_HOST_LABEL)",
    )
    parser.set_defaults(func=cmd_collector)


def cmd_collector(args: argparse.Namespace) -> int:
    if args.pid is not None:
        finder, what = by_pid(args.pid), f"pid {args.pid}"
    elif args.pidfile is not None:
        finder, what = by_pidfile(args.pidfile), f"pidfile {args.pidfile}"
    else:
        finder, what = by_listen_port(args.listen_port), f"TCP port {args.listen_port}"
    collector = TargetCollector(args.system, args.host_label, finder)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    addr, port = args.bind
    try:
        server, _thread = start_http_server(port, addr=addr or "0.0.0.0", registry=registry)
    except OSError as exc:
        raise UsageError(f"cannot serve /metrics on {addr}:{port}: {exc.strerror}") from None
    list(collector.collect())  # one reading now, so a wrong PID or port is said at once
    state = f"down ({collector.down_reason})" if collector.down_reason else "up"
    print(
        f"swarmbench collector: {args.system} by {what}, target {state}; "
        f"serving http://{addr or '0.0.0.0'}:{port}/metrics (Ctrl-C stops)",
        flush=True,
    )
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    stop.wait()
    server.shutdown()
    return 0
