"""deploy/prometheus/ with the real promtool and Prometheus; LocalPrometheus's life cycle."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from swarmbench.telemetry import dashboards, metrics
from swarmbench.telemetry.prometheus import (
    LocalPrometheus,
    PrometheusMissing,
    config_dir,
    find_binary,
)
from swarmbench.util import processes

FAKE_SERVER = Path(__file__).resolve().parent.parent / "fakes" / "server.py"
WAIT_S = 20.0


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [find_binary("promtool"), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_rendered_config_and_rules_pass_promtool(tmp_path: Path) -> None:
    prom = LocalPrometheus(tmp_path, scrape_interval_s=0.5)
    config = prom.write_config()
    checked = promtool("check", "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = promtool("check", "rules", str(config_dir() / "rules.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "scrape_interval: 500ms" in config.read_text()


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    exprs = [
        dashboards.substitute(expr, system="node-std", run="r1")
        for panel in dashboards.PANELS + dashboards.CLUSTER_PANELS
        for expr in panel.exprs
    ]
    rules = [{"record": f"check:expr_{i}:any", "expr": expr} for i, expr in enumerate(exprs)]
    path = tmp_path / "dashboard-exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_binary_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(PrometheusMissing, match="apt-get install prometheus"):
        LocalPrometheus(tmp_path, binary="no-such-prometheus-binary").start()


@pytest.fixture
def collector_for_server() -> Iterator[str]:
    """A fake server and `swarmbench collector` on it; yields the collector's HOST:PORT."""
    port, metrics_port = processes.free_port(), processes.free_port()
    server = subprocess.Popen([sys.executable, str(FAKE_SERVER), "--port", str(port)])
    cmd = [sys.executable, "-m", "swarmbench", "collector", "--system", "fake"]
    cmd += ["--pid", str(server.pid), "--bind", f"127.0.0.1:{metrics_port}"]
    collector = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        processes.wait_listening("127.0.0.1", metrics_port, collector, WAIT_S)
        yield f"127.0.0.1:{metrics_port}"
    finally:
        for proc in (collector, server):
            proc.kill()
            proc.wait()


def test_local_prometheus_scrapes_file_sd_targets(
    tmp_path: Path, collector_for_server: str
) -> None:
    prom = LocalPrometheus(tmp_path, scrape_interval_s=0.5)
    with pytest.raises(ValueError, match="unknown scrape job"):
        prom.set_targets("nope", ["127.0.0.1:1"], {})
    with prom:
        assert prom.proc is not None
        pid = prom.proc.pid
        prom.set_targets("swarmbench_target", [collector_for_server], {"role": "target"})
        deadline = time.monotonic() + WAIT_S
        while not prom.query('swarmbench_target_up{system="fake"} == 1'):
            assert time.monotonic() < deadline, prom.targets_health()
            time.sleep(0.25)
        (sample,) = prom.query("swarmbench_target_up")
        assert sample["metric"]["role"] == "target" and sample["metric"]["host"]
        assert sample["metric"]["job"] == "swarmbench_target"
        while not prom.query(metrics.SYSTEM_TARGET_CPU_RATE):
            assert time.monotonic() < deadline
            time.sleep(0.25)
        now = time.time()
        series = prom.query_range("swarmbench_target_threads", now - 5, now, 0.5)
        assert series and len(series[0]["values"]) >= 2
    assert prom.proc is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert (tmp_path / "prometheus" / "data").is_dir()
