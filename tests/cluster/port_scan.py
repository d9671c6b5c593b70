"""A TCP connect scan of every port of some addresses: `python port_scan.py ADDR[,ADDR...]`.

Prints {address: [open ports]} as JSON. Run it inside a network namespace to see the hosts as
that namespace does (`ip netns exec NS python port_scan.py ...`). Non-blocking connects in
batches, watched with epoll: a refused or reset port answers at once on the test bridge, so a
full scan of one host takes seconds; a port that does not answer within TIMEOUT_S counts as
closed (filtered), as nmap would not call it open either.
"""

from __future__ import annotations

import errno
import json
import resource
import select
import socket
import sys
import time

BATCH = 4000
TIMEOUT_S = 2.0


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, BATCH + 256) if hard != resource.RLIM_INFINITY else BATCH + 256
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _batch(address: str, ports: range) -> list[int]:
    poller = select.epoll()
    pending: dict[int, tuple[socket.socket, int]] = {}
    found = []
    try:
        for port in ports:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex((address, port))
            if code == 0:
                found.append(port)
                sock.close()
            elif code == errno.EINPROGRESS:
                pending[sock.fileno()] = (sock, port)
                poller.register(sock.fileno(), select.EPOLLOUT | select.EPOLLERR)
            else:
                sock.close()
        deadline = time.monotonic() + TIMEOUT_S
        while pending and time.monotonic() < deadline:
            for fd, _ in poller.poll(max(0.0, deadline - time.monotonic())):
                sock, port = pending.pop(fd)
                poller.unregister(fd)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    found.append(port)
                sock.close()
    finally:
        for sock, _ in pending.values():
            sock.close()
        poller.close()
    return found


def scan(address: str) -> list[int]:
    found: list[int] = []
    for start in range(1, 65536, BATCH):
        found += _batch(address, range(start, min(start + BATCH, 65536)))
    return sorted(found)


if __name__ == "__main__":
    _raise_fd_limit()
    print(json.dumps({address: scan(address) for address in sys.argv[1].split(",")}))
