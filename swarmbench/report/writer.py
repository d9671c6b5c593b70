"""The bench report: report.md and report.html regenerated from a results folder.

`write(run_dir)` is the entry point (`swarmbench bench` calls it at the end, `swarmbench report
RUN_DIR` on demand). It reads run.json and cells/*.json only, so a report can be rebuilt at any
time, also for a run that was interrupted: the cells finished so far are reported.
"""

from __future__ import annotations

from pathlib import Path

from swarmbench.report import html, markdown, model
from swarmbench.results import RunDir
from swarmbench.util import atomic

MARKDOWN = "report.md"
HTML = "report.html"


def write(run_dir: Path) -> list[Path]:
    """Write report.md and report.html into run_dir atomically; returns their paths."""
    report = model.load(RunDir(run_dir))
    md_path, html_path = run_dir / MARKDOWN, run_dir / HTML
    atomic.write_text(md_path, markdown.render(report))
    atomic.write_text(html_path, html.render(report))
    return [md_path, html_path]
