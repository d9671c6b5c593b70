"""What the controller builds and ships to cluster hosts, which may have no internet.

The wheelhouse is swarmbench and all its dependencies as wheels, built with `pip wheel` on the
controller and kept as one tar named by a hash of the sources, so an unchanged checkout reuses it
and a playbook run copies the same bytes (no change on the hosts). Target servers are built with
the registry's build commands; `shipped_files` says where each artefact goes below the hosts'
install root, mirroring SWARMBENCH_ROOT (src/) and SWARMBENCH_BUILD_DIR (build/).

    python -m swarmbench.cluster.wheelhouse --systems rust-std,node-std

prints one JSON object the playbook reads: {"wheelhouse", "hash", "changed", "rebuilt", "files",
"packages", "user_systems", "user_registry"}. With `--targets FILE` (bench --targets), the user's
selected systems are built too and shipped below user/: their registry as JSON and each one's
source folder; "packages" are the Debian packages their entries name for the target host.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from swarmbench.errors import UsageError
from swarmbench.targets import build, registry
from swarmbench.util import options, paths, processes

#: What a wheel of swarmbench is built from (pyproject's packages and readme).
SOURCE_PARTS = ("pyproject.toml", "README.md", "swarmbench", "collectors")
#: Changes when the tar's layout or content rules do: wheels (pip's too) below wheelhouse-HASH/.
LAYOUT = "3"
#: Older wheelhouses kept beside the newest, for a quick switch between two checkouts.
KEEP = 3
#: A wheelhouse used this recently is kept whatever KEEP says: on a machine where several
#: checkouts build, the one a playbook run just shipped must still be there for its next run
#: (rebuilt, it would count as a change on every host).
KEEP_USED_WITHIN_S = 3600
PIP_TIMEOUT_SECONDS = 900


def _source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for part in SOURCE_PARTS:
        path = root / part
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return sorted(files)


def source_hash(root: Path) -> str:
    """Sources, Python version and platform: the hosts install binary wheels built here."""
    digest = hashlib.sha256()
    digest.update(f"{LAYOUT} {sys.version_info[:2]} {sysconfig.get_platform()}\0".encode())
    for path in _source_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _pip_wheel(root: Path, wheels: Path) -> None:
    # Build from a copy: pip builds in-tree and would leave build/ in the checkout.
    with tempfile.TemporaryDirectory(prefix="swarmbench-src-") as tmp:
        for path in _source_files(root):
            dest = Path(tmp) / path.relative_to(root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        if not (Path(tmp) / "README.md").exists():
            (Path(tmp) / "README.md").write_text("swarmbench\n")
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels)]
        # pip too: the hosts make their venv --without-pip (fast) and run pip from its wheel.
        try:
            proc = processes.run([*command, tmp, "pip"], timeout=PIP_TIMEOUT_SECONDS, text=True)
        except subprocess.TimeoutExpired:
            raise UsageError(f"pip wheel took over {PIP_TIMEOUT_SECONDS:g} s") from None
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise UsageError(f"building the wheelhouse failed (pip wheel):\n{tail}")


def _prune(directory: Path, keep: Path) -> None:
    """Remove old wheelhouses: all but `keep`, the KEEP used last and those used lately
    (a reused wheelhouse's mtime is its last use)."""
    old = sorted(directory.glob("wheelhouse-*.tar"), key=lambda p: p.stat().st_mtime)
    old = [path for path in old if path != keep]
    recent = time.time() - KEEP_USED_WITHIN_S
    for path in old[: max(0, len(old) - KEEP)]:
        with contextlib.suppress(FileNotFoundError):  # another checkout's prune came first
            if path.stat().st_mtime < recent:
                path.unlink()


def wheelhouse(root: Path | None = None) -> tuple[Path, str, bool]:
    """The tar of wheels for this checkout: (path, hash, whether it was built just now)."""
    root = root or paths.ROOT
    digest = source_hash(root)
    directory = paths.build_dir() / "wheelhouse"
    tar_path = directory / f"wheelhouse-{digest}.tar"
    if tar_path.exists():
        with contextlib.suppress(FileNotFoundError):
            os.utime(tar_path)  # used now: what _prune keeps
        return tar_path, digest, False
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wheels-", dir=directory) as tmp:
        wheels = Path(tmp) / "wheels"
        _pip_wheel(root, wheels)
        partial = Path(tmp) / "wheelhouse.tar"
        with tarfile.open(partial, "w") as tar:
            for wheel in sorted(wheels.iterdir()):
                tar.add(wheel, arcname=f"wheelhouse-{digest}/{wheel.name}")
        os.replace(partial, tar_path)
    _prune(directory, tar_path)
    return tar_path, digest, True


def _destination(path: Path) -> str:
    """Where a file goes below the hosts' install root: build/ or src/, same relative path."""
    for prefix, base in (("build", paths.build_dir()), ("src", paths.ROOT)):
        if path.resolve().is_relative_to(base.resolve()):
            return f"{prefix}/{path.resolve().relative_to(base.resolve())}"
    raise UsageError(f"{path} is neither in the checkout nor in the build folder")


#: Where a user's systems (--targets) go below the hosts' install root: their registry, as JSON
#: with each `source` at its default (targets/NAME beside it), and each source folder there.
USER_REGISTRY = "user/targets.json"
USER_SOURCES = "user/targets"


def _file(src: Path, dest: str) -> dict[str, str]:
    return {"src": str(src), "dest": dest, "mode": "0755" if os.access(src, os.X_OK) else "0644"}


def _user_files(target: registry.Target) -> list[dict[str, str]]:
    """A user's server: its source folder (an interpreted app's code, a config) and its built
    artefact when that lives in the build folder."""
    files = []
    source = target.source.resolve()
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            rel = path.relative_to(source)
            if not build.IGNORED_PARTS.intersection(rel.parts):
                files.append(_file(path, f"{USER_SOURCES}/{target.name}/{rel}"))
    artefact = target.artefact.resolve()
    if artefact.is_relative_to(paths.build_dir().resolve()):
        files.append(_file(artefact, _destination(artefact)))
    elif not artefact.is_relative_to(source):
        raise UsageError(
            f"{target.name}: its artefact {artefact} is neither in its source folder nor in the "
            "build folder, so it cannot be shipped to the target host"
        )
    return files


def _user_registry(extra: Path, names: list[str]) -> Path:
    """The hosts' copy of the user's registry: the selected systems, each `source` defaulted."""
    raw = registry.entries(extra)
    systems = {name: {k: v for k, v in raw[name].items() if k != "source"} for name in names}
    text = json.dumps({"systems": systems}, indent=2, sort_keys=True) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = paths.build_dir() / "user-targets" / f"targets-{digest}.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path


def shipped_files(
    names: Sequence[str], extra: Path | None = None
) -> tuple[list[dict[str, str]], bool, list[str]]:
    """Build the named targets (skipping up-to-date ones): the files each host role needs,
    whether a build ran, and the Debian packages the user's selected systems need."""
    files = [{"src": str(paths.registry_file()), "dest": "src/deploy/targets.toml", "mode": "0644"}]
    changed = False
    packages: list[str] = []
    selected = registry.select(list(names), extra) if names else []
    for target in selected:
        if target.external:
            raise UsageError(f"{target.name} runs at {target.url}: on a cluster, not yet")
        changed |= build.build(target).built
        if target.origin is not None:
            files += _user_files(target)
            packages += [p for p in target.packages if p not in packages]
        else:
            files.append(_file(target.artefact, _destination(target.artefact)))
    mine = [t.name for t in selected if t.origin is not None]
    if extra is not None and mine:
        files.append(_file(_user_registry(extra, mine), USER_REGISTRY))
    return files, changed, packages


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m swarmbench.cluster.wheelhouse", description=__doc__
    )
    parser.add_argument(
        "--systems",
        type=options.csv_list,
        default=[],
        metavar="A,B",
        help="target servers to build and list (default: none)",
    )
    parser.add_argument(
        "--targets",
        default="",
        metavar="FILE",
        help="the user's registry file (bench --targets), whose systems may be among --systems "
        "('' : none)",
    )
    args = parser.parse_args(argv)
    extra = Path(args.targets) if args.targets else None
    try:
        tar_path, digest, built = wheelhouse()
        files, rebuilt, packages = shipped_files(args.systems, extra)
        mine = [t.name for t in registry.select(args.systems, extra) if t.origin is not None]
    except UsageError as exc:
        print(f"swarmbench: {exc}", file=sys.stderr)
        return exc.exit_code
    # A rebuilt server counts as a change only on the hosts, where its copy reports whether the
    # bytes differ: another checkout's build of the same server rebuilds it here too.
    result = {"wheelhouse": str(tar_path), "hash": digest, "changed": built, "rebuilt": rebuilt}
    user = {"packages": packages, "user_systems": mine, "user_registry": USER_REGISTRY}
    print(json.dumps({**result, "files": files, **user}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
