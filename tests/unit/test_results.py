import json
from pathlib import Path

import pytest

from swarmbench import __version__
from swarmbench.results import SCHEMA_VERSION, CellResult, ResultsError, RunDir, new_run_record


def _folder(tmp_path: Path) -> RunDir:
    rundir = RunDir(tmp_path / "run")
    rundir.ensure_writable()
    rundir.write_run(new_run_record({"run_id": "r1", "parameters": {"rate": None}}))
    return rundir


def test_a_cell_round_trips_with_its_format_stamps_and_nan_as_null(tmp_path: Path) -> None:
    rundir = _folder(tmp_path)
    cell = CellResult("tokio", "on", "wrk", "ok", requests=10, rps=float("nan"))
    rundir.write_cell(cell)
    data = json.loads(rundir.cell_file(cell.key).read_text())
    assert (data["schema_version"], data["swarmbench_version"]) == (SCHEMA_VERSION, __version__)
    assert data["rps"] is None
    assert rundir.finished(cell.key) == CellResult("tokio", "on", "wrk", "ok", requests=10)
    run = rundir.read_run()
    assert (run.run_id, run.written_by, run.schema_version) == ("r1", __version__, SCHEMA_VERSION)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not JSON"),
        ('{"run_id": ', "is not JSON"),
        ("[1, 2]", "is not a swarmbench results file"),
        ('{"tool": "other"}', "is not a swarmbench results file"),
        (
            f'{{"run_id": "x", "schema_version": {SCHEMA_VERSION + 1}}}',
            f"is in results format {SCHEMA_VERSION + 1}",
        ),
        ('{"run_id": "x", "schema_version": "1"}', "schema_version '1' is not a whole number"),
        ('{"run_id": 5}', "run_id: 5 is not text"),
        ('{"run_id": "x", "machine": {"logical_cpus": "2"}}', "machine.logical_cpus"),
        ('{"run_id": "x", "parameters": {"profile": {"ab_requests": 1.5}}}', "ab_requests"),
    ],
)
def test_a_bad_run_json_is_one_line_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    rundir = _folder(tmp_path)
    rundir.run_file.write_text(text)
    with pytest.raises(ResultsError) as info:
        rundir.read_run()
    assert str(rundir.run_file) in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
