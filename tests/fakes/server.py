"""A deliberately configurable HTTP server for tests: correct, broken or hostile.

Run as a script: `python tests/fakes/server.py --port P --mode MODE [--delay-ms N]`.
A thread per connection; it answers every request head in its buffer, in order.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time

OK_BODY = b"Hello"
MODES = (
    "ok",  # meets the contract
    "no-length",  # omits Content-Length and closes after each response
    "ignore-close",  # never says Connection: close and never closes
    "sleep",  # correct, but waits --delay-ms before each response
    "burn",  # correct, but spends --delay-ms of CPU before each response (a CPU-bound server)
    "garbage",  # answers bytes that are not HTTP
    "huge",  # a 10 MB body
    "mid-body",  # promises 5 bytes, sends 2, closes
    "silent",  # reads requests, never answers
    "status-500",  # well-formed 500s
    "markup",  # a reason phrase and a header of rich markup, escape sequences and controls
    "negative-chunk",  # a chunked body whose chunk size is -1
    "unicode-length",  # Content-Length: ² (a Unicode digit)
    "trickle",  # the head one byte every 50 ms, never finished
)
#: What the hostile modes send instead of a response (the connection closes after it).
HOSTILE = {
    "markup": b"HTTP/1.1 200 [/][red]x\x1b[2J\x07\r\nX-[b]: [/]\x1b]0;pwned\x07\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nHello",
    "negative-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\nab\r\n",
    "unicode-length": "HTTP/1.1 200 OK\r\nContent-Length: ²\r\n\r\nHello".encode(),
}


def response(head: bytes, mode: str) -> tuple[bytes, bool]:
    """(bytes to send, close afterwards) for one request head."""
    lines = head.decode("latin-1").split("\r\n")
    version = lines[0].rsplit(" ", 1)[-1]
    conn = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "connection":
            conn = value.strip().lower()
    close = conn != "keep-alive" if version == "HTTP/1.0" else conn == "close"
    status = b"500 Internal Server Error" if mode == "status-500" else b"200 OK"
    extra = b""
    if close:
        extra = b"Connection: close\r\n"
    elif version == "HTTP/1.0":
        extra = b"Connection: keep-alive\r\n"
    if mode == "ignore-close":
        extra, close = b"", False
    body, length = OK_BODY, b"Content-Length: 5\r\n"
    if mode == "no-length":
        length, close = b"", True
    elif mode == "huge":
        body = b"x" * (10 * 1024 * 1024)
        length = b"Content-Length: %d\r\n" % len(body)
    elif mode == "mid-body":
        body, close = b"He", True
    head_out = b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain\r\n" + length + extra
    return head_out + b"\r\n" + body, close


def serve_connection(conn: socket.socket, mode: str, delay_s: float) -> None:
    buf = b""
    with conn:
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while (end := buf.find(b"\r\n\r\n")) >= 0:
                head, buf = buf[:end], buf[end + 4 :]
                if mode == "silent":
                    continue
                if mode == "garbage":
                    conn.sendall(b"\x00\xffnot http at all\r\n\r\n")
                    return
                if mode in HOSTILE:
                    conn.sendall(HOSTILE[mode])
                    continue  # a negative chunk size must not make the client wait for more
                if mode == "trickle":
                    trickle(conn)
                    return
                delay(mode, delay_s)
                data, close = response(head, mode)
                try:
                    conn.sendall(data)
                except OSError:
                    return
                if close:
                    return


def delay(mode: str, delay_s: float) -> None:
    """Before each response: burn CPU (a CPU-bound server) or sleep (a slow one)."""
    if delay_s and mode == "burn":
        until = time.thread_time() + delay_s
        while time.thread_time() < until:
            pass
    elif delay_s:
        time.sleep(delay_s)


def trickle(conn: socket.socket) -> None:
    """A status line and then one header byte every 50 ms, until the client leaves."""
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while True:
            conn.sendall(b"x")
            time.sleep(0.05)
    except OSError:
        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    delay_s = args.delay_ms / 1000 if args.mode in ("sleep", "burn") else 0.0
    listener = socket.create_server((args.host, args.port), backlog=512)
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(
            target=serve_connection, args=(conn, args.mode, delay_s), daemon=True
        ).start()


if __name__ == "__main__":
    main()
