"""A third-party style listener (as --otel or locust-plugins add one): counts every request it
hears of per (method, name), failures apart, and writes them at quit to
$LISTENER_OUT/<pid>.json, one file per Locust process."""

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from locust import events

requests: Counter[str] = Counter()
failures: Counter[str] = Counter()


@events.request.add_listener
def count(request_type: str, name: str, exception: Any = None, **_kwargs: Any) -> None:
    requests[f"{request_type} {name}"] += 1
    if exception is not None:
        failures[f"{request_type} {name}"] += 1


@events.quitting.add_listener
def write(**_kwargs: Any) -> None:
    out = os.environ.get("LISTENER_OUT")
    if out:
        data = {"requests": requests, "failures": failures}
        Path(out, f"{os.getpid()}.json").write_text(json.dumps(data))
