"""`swarmbench plugin-bench` end to end: one short round, plain Locust and the plugin."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from swarmbench.targets import registry


def test_one_round_prints_the_ratio_and_writes_both_sides(
    built: Callable[[str], registry.Target], tmp_path: Path
) -> None:
    built("rust-std")
    out = tmp_path / "pluginbench.json"
    cmd = [sys.executable, "-m", "swarmbench", "plugin-bench", "--duration", "2s"]
    cmd += ["--rounds", "1", "--users", "4", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "plugin / plain per round:" in proc.stdout
    data = json.loads(out.read_text())
    assert [s["side"] for s in data["samples"]] == ["plain", "plugin"]
    for sample in data["samples"]:
        assert sample["requests"] > 100 and sample["failures"] == 0, sample
        assert sample["us_per_request"] > 0, sample
    (ratio,) = data["summary"]["ratios"]
    assert ratio > 0 and data["summary"]["median_ratio"] == ratio
