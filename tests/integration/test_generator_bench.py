"""`swarmbench generator-bench` end to end: wrk and swarmbench's users against rust-std."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from swarmbench.targets import registry

MODES = ("keepalive", "close")


def test_short_run_reports_ratios_to_wrk(
    built: Callable[[str], registry.Target], tmp_path: Path
) -> None:
    built("rust-std")
    out = tmp_path / "genbench.json"
    cmd = [sys.executable, "-m", "swarmbench", "generator-bench", "--duration", "2s"]
    cmd += ["--repeats", "1", "--generators", "wrk,swarmbench", "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    assert "x wrk" in proc.stdout
    for generator in ("wrk", "swarmbench"):
        for mode in MODES:
            row = rf"\b{generator}\W+{mode}\W+[\d,]+\W+[\d,]+\W+(\d+\.\d\d)\b"
            match = re.search(row, proc.stdout)
            assert match, f"no {generator} {mode} row with a ratio in:\n{proc.stdout}"
            assert float(match.group(1)) > 0
            if generator == "wrk":
                assert match.group(1) == "1.00"

    data = json.loads(out.read_text())
    assert data["target"] == "rust-std"
    assert data["generator_cpu"] != data["target_cpu"]
    assert [(s["generator"], s["mode"]) for s in data["samples"]] == [
        ("wrk", "keepalive"),
        ("swarmbench", "keepalive"),
        ("wrk", "close"),
        ("swarmbench", "close"),
    ]
    for sample in data["samples"]:
        assert sample["requests"] > 100, sample
        assert sample["failures"] == 0, sample
        assert sample["cpu_s"] > 0, sample
    ratios = {(r["generator"], r["mode"]): r["ratio_to_wrk"] for r in data["summary"]}
    assert all(ratio is not None and ratio > 0 for ratio in ratios.values()), ratios
    assert ratios[("wrk", "keepalive")] == ratios[("wrk", "close")] == 1.0
