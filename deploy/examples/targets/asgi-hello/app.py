"""A small ASGI application: the kind of service a team brings to compare with the seven.

Served by Debian's uvicorn (apt-get install python3-uvicorn); deploy/examples/targets.toml
declares how swarmbench runs it. GET / answers a short JSON document; anything else is a 404.
"""

import json

BODY = json.dumps({"status": "ok", "service": "asgi-hello"}).encode()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = (await receive())["type"]  # lifespan.startup, then lifespan.shutdown
            await send({"type": message + ".complete"})
            if message == "lifespan.shutdown":
                return
    found = scope["path"] == "/"
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": HEADERS if found else [(b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": BODY if found else b""})
