"""Driving a running Locust master through its web API: one measured run per call.

The cluster's master runs in web mode (playbooks/roles/master), so one master and its workers
serve every cell: each run is a POST /swarm with the cell's users, host, user class and
swarmbench's options (--rate, --system, --run-id are form fields too), then the run's result
from GET /swarmbench/latency (latency_route), the same dict a local run's latency JSON holds.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from swarmbench.generators.locust import Locust
from swarmbench.generators.spec import Generator, GeneratorRun, LoadSpec

HTTP_TIMEOUT_S = 10.0
#: How long to wait for the expected workers to be connected and ready.
WORKERS_TIMEOUT_S = 60.0
#: Past the planned run: spawning, the final-report handshake, a slow stop.
RESULT_GRACE_S = 60.0
#: The master stops a run whose result nobody asked for this long (engine.run_lease): what a
#: SIGKILLed bench, which cannot stop its run, leaves going. The bench asks every POLL_S; an
#: answer can take up to HTTP_TIMEOUT_S from a master on a starved core.
RUN_LEASE_S = 30.0
POLL_S = 0.5
IDLE_STATES = ("ready", "stopped")


class MasterError(RuntimeError):
    """The master refused a run or gave no result; the message says which."""


@dataclass
class RemoteMaster:
    """A Locust master's web UI at `url` (e.g. an SSH tunnel's local end).

    `opener` carries the login's session cookie and the pinned TLS certificate, where the
    master has them (web_access); the default is urllib's plain one.
    """

    url: str
    expected_workers: int
    opener: urllib.request.OpenerDirector = field(default_factory=urllib.request.build_opener)
    #: per HTTP request (a Locust on a starved core answers late, not never)
    http_timeout_s: float = HTTP_TIMEOUT_S
    run_lease_s: float = RUN_LEASE_S

    def _get(self, path: str) -> dict[str, Any]:
        with self.opener.open(self.url + path, timeout=self.http_timeout_s) as resp:
            return dict(json.load(resp))

    def _post(self, path: str, form: list[tuple[str, str]]) -> dict[str, Any]:
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST")
        with self.opener.open(request, timeout=self.http_timeout_s) as resp:
            body = resp.read()
        return dict(json.loads(body)) if body.strip() else {}

    def stop(self) -> None:
        """Stop a running test (Locust's /stop takes POST only)."""
        self._post("/stop", [])

    def stats(self) -> dict[str, Any]:
        return self._get("/stats/requests")

    def connected_workers(self) -> list[str]:
        """The ids of the workers connected now, those that stopped sending heartbeats left out."""
        return _connected(self.stats())

    def wait_ready(self, timeout: float = WORKERS_TIMEOUT_S) -> None:
        """Idle, with every expected worker connected and not missing."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            ready = _connected(stats)
            if stats.get("state") in ("running", "spawning"):
                self.stop()  # a run someone left going: this bench owns the master now
            elif len(ready) >= self.expected_workers:
                return
            if time.monotonic() > deadline:
                raise MasterError(
                    f"{len(ready)} of {self.expected_workers} Locust workers connected to the "
                    f"master (state {stats.get('state')}) after {timeout:g} s"
                )
            time.sleep(POLL_S)

    def latency(self) -> dict[str, Any]:
        return self._get("/swarmbench/latency")

    def run(self, spec: LoadSpec, user_class: str) -> dict[str, Any]:
        """One run of spec.duration_s; returns its latency dict (all workers' reports in)."""
        self.wait_ready()
        before = int(self.latency()["run"])
        duration = max(1, round(spec.duration_s))
        form = [
            ("user_count", str(spec.connections)),
            ("spawn_rate", str(spec.connections)),
            ("host", spec.url),
            ("user_classes", user_class),
            ("run_time", f"{duration}s"),
            ("rate", f"{spec.rate or 0:g}"),
            ("system", spec.system),
            ("run_id", spec.run_id),
            ("run_lease", f"{self.run_lease_s:g}"),
        ]
        answer = self._post("/swarm", form)
        if not answer.get("success"):
            raise MasterError(f"the master refused the run: {answer.get('message', answer)}")
        try:
            return self._result(before, duration + RESULT_GRACE_S)
        except BaseException:
            # Interrupted or no result: the shared master must not keep loading the target.
            with contextlib.suppress(OSError, ValueError):
                self.stop()
            raise

    def _result(self, before: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(POLL_S)
            found = self.latency()
            if int(found["run"]) > before and found["finished"]:
                return dict(found["result"])
        raise MasterError(f"no result from the master within {timeout:g} s")


def _connected(stats: dict[str, Any]) -> list[str]:
    return [w["id"] for w in stats.get("workers", []) if w.get("state") != "missing"]


def run_locust(
    master: RemoteMaster, generator: Generator, spec: LoadSpec, workdir: Path
) -> GeneratorRun:
    """A Locust cell on the cluster, parsed exactly like a local run's latency JSON."""
    assert isinstance(generator, Locust)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        result = master.run(replace(spec, url=generator.host(spec)), generator.user_class(spec))
    except (urllib.error.URLError, OSError, KeyError, ValueError) as exc:
        raise RuntimeError(f"Locust master: {exc}") from None
    except MasterError as exc:
        raise RuntimeError(str(exc)) from None
    (workdir / "locust-latency.json").write_text(json.dumps(result, indent=2) + "\n")
    run = generator.parse("", workdir)
    run.cpu_seconds = run.window_cpu_seconds or 0.0  # the workers' CPU, from their reports
    run.wall_s = time.monotonic() - started
    run.command = ["POST", f"{master.url}/swarm", generator.user_class(spec), spec.url]
    return run
