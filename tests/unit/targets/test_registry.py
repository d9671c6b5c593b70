import shutil
from pathlib import Path

import pytest

from swarmbench.errors import UsageError
from swarmbench.targets import build, registry
from swarmbench.util import paths

SEVEN = ["tokio", "hyperlane", "rocket", "rust-std", "gin", "go-std", "node-std"]


def test_registry_lists_the_seven_systems_in_order() -> None:
    assert registry.names() == SEVEN


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
