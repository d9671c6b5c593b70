import os
import stat
from pathlib import Path

import pytest

from swarmbench.errors import UsageError
from swarmbench.util import atomic


def test_a_written_file_is_whole_and_readable_by_others(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "sub" / "run.json"
        atomic.write_json(path, {"b": 1, "a": [1.5, None]})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text() == '{\n  "a": [\n    1.5,\n    null\n  ],\n  "b": 1\n}\n'
    assert [p.name for p in path.parent.iterdir()] == ["run.json"]  # no temporary left


def test_the_umask_still_applies(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        atomic.write_text(tmp_path / "private", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o600


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_numbers_are_never_written(tmp_path: Path, value: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        atomic.write_json(tmp_path / "x.json", {"rps": value})
    assert not (tmp_path / "x.json").exists()
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match=r"cannot write results to .*file/x: Not a directory"):
        atomic.ensure_writable(blocker / "x", "results")
    atomic.ensure_writable(tmp_path / "new" / "folder", "results")
    assert list((tmp_path / "new" / "folder").iterdir()) == []
