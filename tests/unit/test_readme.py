"""The README's promises that code can check: its table and its test command."""

import re

from swarmbench.commands.targets import markdown_table
from swarmbench.util import paths

README = (paths.ROOT / "README.md").read_text()


def test_readme_table_matches_the_registry() -> None:
    match = re.search(r"<!-- targets:begin[^\n]*-->\n(.*?)\n<!-- targets:end -->", README, re.S)
    assert match, "the README lost its targets table markers"
    assert match.group(1) == markdown_table()


def test_quick_start_is_make_bench_and_make_test() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make bench" in quick
    assert "make test" in quick
    ci = (paths.ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
