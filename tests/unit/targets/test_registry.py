import shutil
from pathlib import Path

import pytest

from swarmbench.errors import UsageError
from swarmbench.targets import build, registry
from swarmbench.util import paths

SEVEN = ["tokio", "hyperlane", "rocket", "rust-std", "gin", "go-std", "node-std"]
#: deploy/targets.toml: the seven, then the variant kept with the published node server's bug
REGISTRY = [*SEVEN, "node-std-published"]


def test_registry_lists_the_seven_systems_in_order() -> None:
    assert registry.names() == REGISTRY
    assert [t.name for t in registry.select(["article"])] == SEVEN


def test_every_entry_has_its_source_folder() -> None:
    for target in registry.load().values():
        assert target.source.is_dir(), target.name
        assert target.toolchain in {"cargo", "go", "node"}


def test_run_command_fills_placeholders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWARMBENCH_BUILD_DIR", str(tmp_path))
    tokio = registry.get("tokio")
    cmd = tokio.run_command(port=1234, threads=3, host="127.0.0.2")
    assert cmd[0] == str(tmp_path / "cargo" / "release" / "sb-tokio")
    assert cmd[1:] == ["--host", "127.0.0.2", "--port", "1234", "--threads", "3"]
    assert "{" not in " ".join(tokio.build_command())


def test_node_runs_its_script_from_the_source_tree() -> None:
    node = registry.get("node-std")
    assert node.artefact == paths.ROOT / "deploy" / "targets" / "node-std" / "server.js"
    assert not node.takes_threads


def test_unknown_system_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match="unknown system 'nginx'; known: tokio, hyperlane"):
        registry.get("nginx")
    with pytest.raises(UsageError, match="'a', 'b'"):
        registry.select(["tokio", "a", "b"])


def test_a_change_in_a_shared_crate_changes_the_rust_stamps(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    targets_dir = tmp_path / "deploy" / "targets"
    for name in ("rust-std", "rust-common"):
        shutil.copytree(paths.ROOT / "deploy" / "targets" / name, targets_dir / name)
    shutil.copy(paths.registry_file(), tmp_path / "deploy" / "targets.toml")
    target = registry.load(tmp_path / "deploy" / "targets.toml")["rust-std"]
    assert target.shared_sources == (targets_dir / "rust-common",)
    before = build.source_stamp(target)
    (targets_dir / "rust-common" / "src" / "lib.rs").write_text("// changed\n")
    assert build.source_stamp(target) != before


EXAMPLE = paths.ROOT / "deploy" / "examples" / "targets.toml"


def _user_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(body)
    return path


def test_a_users_file_joins_the_seven_after_them() -> None:
    targets = registry.load(extra=EXAMPLE)
    assert list(targets) == [*REGISTRY, "asgi-hello"]
    mine = targets["asgi-hello"]
    assert mine.origin == EXAMPLE and mine.source == EXAMPLE.parent / "targets" / "asgi-hello"
    assert mine.contract.status == 200 and mine.contract.content_type == "application/json"
    assert mine.contract.required("keep-alive") and not mine.contract.required("pipelining")
    assert mine.packages == ("python3-uvicorn",) and mine.toolchain == "/usr/bin/python3"
    assert "--workers" in mine.run_command(port=1, threads=2) and mine.takes_threads
    assert registry.HELLO.required("pipelining")


def test_a_url_entry_is_watched_not_started(tmp_path: Path) -> None:
    mine = _user_file(
        tmp_path,
        '[systems.svc]\nlanguage = "go"\nversion = "v1"\nurl = "http://127.0.0.1:9000/x"\n',
    )
    svc = registry.get("svc", mine)
    assert svc.external and svc.listen_port == 9000 and svc.is_built() and svc.pidfile is None
    assert build.build(svc).built is False


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('[systems.rust-std]\nlanguage = "c"\nversion = "1"\nrun = ["x"]\n', "already in"),
        ('[systems.a]\nlanguage = "c"\nversion = "1"\n', "needs `run`"),
        ('[systems.a]\nlanguage = "c"\nversion = "1"\nrun = ["x", "{prot}"]\n', "placeholder"),
        ('[systems.a]\nlanguage = "c"\nversion = "1"\nrun = ["x"]\ncolour = 1\n', "unknown key"),
        (
            '[systems.a]\nlanguage = "c"\nversion = "1"\nurl = "http://h/"\nrun = ["x"]\n',
            "drop run",
        ),
        ('[systems.a]\nlanguage = "c"\nversion = "1"\nurl = "ftp://h/"\n', "not an http URL"),
        (
            '[systems.a]\nlanguage = "c"\nversion = "1"\nrun = ["x"]\n'
            '[systems.a.contract]\nrequire = ["speed"]\n',
            "unknown check 'speed'",
        ),
        ("[systems.a\n", "not valid TOML"),
        ("title = 1\n", "declares no [systems.NAME]"),
    ],
)
def test_a_bad_users_file_is_one_message_naming_it(tmp_path: Path, body: str, needle: str) -> None:
    mine = _user_file(tmp_path, body)
    with pytest.raises(UsageError, match=r".*") as caught:
        registry.load(extra=mine)
    assert needle in str(caught.value) and str(mine) in str(caught.value)
