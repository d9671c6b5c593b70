"""A real Prometheus for one local run: free port, its own TSDB in the run folder, file_sd targets.

The configuration is deploy/prometheus/prometheus.yml and rules.yml, copied into
RUN/prometheus/ (the scrape interval optionally changed); targets are JSON files in
RUN/prometheus/targets/ that `set_targets` writes atomically, so Prometheus picks up a new
collector or Locust master without a restart. Queries use the HTTP API through urllib.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from swarmbench.errors import UsageError
from swarmbench.util import atomic, paths, processes

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 10.0
#: The bench reads a few series at a time: an answer this large is not one of them.
MAX_ANSWER_BYTES = 64 * 1024 * 1024
INSTALL_HINT = "install it with `apt-get install prometheus` (Debian) or `make` (as root)"


class PrometheusMissing(UsageError):
    """No prometheus binary: the message says how to install it."""


class PrometheusError(RuntimeError):
    """Prometheus could not answer: an error, a timeout, an error page that is not JSON, an
    answer of the wrong shape, or it did not start. The API raises nothing else."""


def config_dir() -> Path:
    return paths.ROOT / "deploy" / "prometheus"


def find_binary(name: str = "prometheus") -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else "")
    if not found:
        raise PrometheusMissing(f"{name} is not installed: {INSTALL_HINT}")
    return found


def scrape_jobs(config: dict[str, Any]) -> list[str]:
    return [str(job["job_name"]) for job in config.get("scrape_configs", [])]


class PrometheusAPI:
    """Prometheus' HTTP query API at `url`: a local run's own server or a cluster's monitor."""

    def __init__(self, url: str, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self._url = url.rstrip("/")
        self.timeout_s = timeout_s

    @property
    def url(self) -> str:
        return self._url

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; the API's `result` list ([{metric: {...}, value: [t, "v"]}, ...])."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return _items(self._api("query", params), "result", expr)

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """Range query; each result has `values`: [[t, "v"], ...]."""
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return _items(self._api("query_range", params), "result", expr)

    def targets_health(self) -> list[dict[str, Any]]:
        """Active targets as the API lists them (scrapeUrl, health, lastError, labels)."""
        return _items(self._api("targets", None), "activeTargets", "targets")

    def _api(self, endpoint: str, params: dict[str, str] | None) -> dict[str, Any]:
        """The answer's `data` object; PrometheusError for anything else, one line."""
        what = f"{endpoint} {params['query']!r}" if params else endpoint
        status, raw = self._fetch(endpoint, params, what)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            text = raw[:60].decode("latin-1").splitlines()[0] if raw.strip() else "empty"
            raise PrometheusError(f"{what}: {status} that is not JSON ({text!r})") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", body) if isinstance(body, dict) else body
            raise PrometheusError(f"{what}: {status}: {str(error)[:200]}")
        if not isinstance(body.get("data"), dict):
            raise PrometheusError(f"{what}: an answer without a data object")
        return dict(body["data"])

    def _fetch(self, endpoint: str, params: dict[str, str] | None, what: str) -> tuple[str, bytes]:
        """("an answer" or "HTTP <code>", the body's first MAX_ANSWER_BYTES); PrometheusError
        when no HTTP answer came: refused, a timeout, a reset, or bytes that are not HTTP."""
        url = f"{self.url}/api/v1/{endpoint}"
        data = urllib.parse.urlencode(params).encode() if params else None
        try:
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=data),
                                            timeout=self.timeout_s) as resp:  # fmt: skip
                    return "an answer", resp.read(MAX_ANSWER_BYTES)
            except urllib.error.HTTPError as exc:  # Prometheus' own errors are JSON; a proxy's not
                with exc:
                    return f"HTTP {exc.code}", exc.read(MAX_ANSWER_BYTES) or b"{}"
        except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, timeout, reset...
            reason = getattr(exc, "reason", None) or exc
            message = f"{what}: Prometheus at {self.url} did not answer ({reason})"
            raise PrometheusError(message) from None
        except http.client.HTTPException as exc:  # not HTTP, broken chunks, 100+ headers...
            text = str(exc).splitlines()[0][:80] if str(exc).strip() else type(exc).__name__
            message = f"{what}: Prometheus at {self.url} answered in broken HTTP ({text!r})"
            raise PrometheusError(message) from None


def _items(data: dict[str, Any], key: str, what: str) -> list[dict[str, Any]]:
    """data[key] as a list of objects; PrometheusError if the answer has another shape."""
    items = data.get(key)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise PrometheusError(f"{what}: the answer's {key} is not a list of objects")
    return items


class LocalPrometheus(PrometheusAPI):
    """Start with `.start()` (or `with`), point with `set_targets`, query, then `.stop()`."""

    def __init__(
        self, run_dir: Path, scrape_interval_s: float | None = None, binary: str = "prometheus"
    ) -> None:
        self.binary = binary
        self.home = Path(run_dir) / "prometheus"
        self.targets_dir = self.home / "targets"
        self.scrape_interval_s = scrape_interval_s
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._config: dict[str, Any] = {}
        super().__init__("")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jobs(self) -> list[str]:
        return scrape_jobs(self._config or self._render())

    def _render(self) -> dict[str, Any]:
        source = config_dir()
        config = yaml.safe_load((source / "prometheus.yml").read_text())
        if self.scrape_interval_s is not None:
            interval = f"{int(self.scrape_interval_s * 1000)}ms"
            config["global"]["scrape_interval"] = interval
            config["global"]["scrape_timeout"] = interval
            config["global"]["evaluation_interval"] = interval
        return dict(config)

    def write_config(self) -> Path:
        """Copy the config and rules into the run folder; returns the config's path."""
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        self._config = self._render()
        config_file = self.home / "prometheus.yml"
        atomic.write_text(config_file, yaml.safe_dump(self._config, sort_keys=False))
        for rule_file in self._config.get("rule_files", []):
            shutil.copyfile(config_dir() / rule_file, self.home / rule_file)
        return config_file

    def start(self) -> LocalPrometheus:
        binary = find_binary(self.binary)
        config_file = self.write_config()
        self.port = processes.free_port()
        log_file = (self.home / "prometheus.log").open("ab")
        self.proc = processes.spawn(
            [
                binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={self.home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=30d",
                "--web.enable-lifecycle",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
        log_file.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.home / "prometheus.log").read_text(errors="replace")[-600:]
                raise PrometheusError(f"prometheus exited with {self.proc.returncode}: {tail}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise PrometheusError(f"prometheus was not ready within {READY_TIMEOUT_S:g} s")

    def stop(self) -> None:
        """SIGTERM by PID (Prometheus flushes its head block), SIGKILL after a grace period."""
        proc, self.proc = self.proc, None
        if proc is not None:
            processes.stop(proc, STOP_TIMEOUT_S)

    def __enter__(self) -> LocalPrometheus:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def set_targets(
        self, job: str, targets: list[str], labels: dict[str, str] | None = None
    ) -> Path:
        """Write targets/JOB.json (HOST:PORT list and labels) for one of the config's jobs."""
        if job not in self.jobs:
            raise ValueError(f"unknown scrape job {job!r}; the config has {', '.join(self.jobs)}")
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        path = self.targets_dir / f"{job}.json"
        body = [{"targets": list(targets), "labels": dict(labels or {})}] if targets else []
        atomic.write_text(path, json.dumps(body, indent=2) + "\n")
        return path
