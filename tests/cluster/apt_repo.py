"""A signed apt repository built on this machine, for a fresh test host that has no internet.

`repack` rebuilds an installed Debian package as a .deb from its files (as dpkg-repack does);
`fake_grafana` builds a small stand-in for Grafana's package with dpkg-deb (a grafana user,
/etc/default/grafana-server, a grafana-server unit that serves the provisioning folder over HTTP
so a test can read what was provisioned). `build` lays packages out as a repository with
dpkg-scanpackages, a Release file and an InRelease signed by a throwaway GnuPG key.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

TIMEOUT_S = 60

_GRAFANA_SERVER = """#!/bin/sh
# Stand-in for grafana-server: serves /etc/grafana/provisioning on Grafana's address and port.
exec /usr/bin/python3 -m http.server --bind "$GF_SERVER_HTTP_ADDR" "$GF_SERVER_HTTP_PORT" \\
    --directory /etc/grafana/provisioning
"""
_GRAFANA_UNIT = """[Unit]
Description=Grafana stand-in (swarmbench tests)
After=network.target

[Service]
EnvironmentFile=/etc/default/grafana-server
User=grafana
Group=grafana
ExecStart=/usr/sbin/grafana-server

[Install]
WantedBy=multi-user.target
"""
_GRAFANA_POSTINST = """#!/bin/sh
set -e
getent group grafana >/dev/null || addgroup --system --quiet grafana
getent passwd grafana >/dev/null || adduser --system --quiet --ingroup grafana \\
    --home /usr/share/grafana --no-create-home grafana
mkdir -p /etc/grafana/provisioning /var/lib/grafana
"""


def _run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(
        args, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, cwd=cwd, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _control(fields: dict[str, str]) -> str:
    return "".join(f"{key}: {value}\n" for key, value in fields.items() if value)


def repack(package: str, out: Path) -> Path:
    """The installed `package` as a .deb built from its files on this machine."""
    info = _run("dpkg-query", "-W", "-f=${Version}\\n${Architecture}\\n${Maintainer}\\n"
                "${Depends}\\n${Section}\\n${binary:Summary}", package).split("\n")  # fmt: skip
    root = out / f"{package}-root"
    (root / "DEBIAN").mkdir(parents=True)
    for line in _run("dpkg", "-L", package).splitlines():
        path = Path(line)
        if path.is_symlink() or path.is_file():
            dest = root / path.relative_to("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                dest.symlink_to(os.readlink(path))
            else:
                shutil.copy2(path, dest)
    fields = {
        "Package": package, "Version": info[0], "Architecture": info[1], "Maintainer": info[2],
        "Depends": info[3], "Section": info[4], "Priority": "optional",
        "Description": info[5] or package,
    }  # fmt: skip
    (root / "DEBIAN" / "control").write_text(_control(fields))
    return _deb(root, out / f"{package}_{info[0]}_{info[1]}.deb")


def fake_grafana(out: Path, version: str = "11.0.0") -> Path:
    root = out / "grafana-root"
    (root / "DEBIAN").mkdir(parents=True)
    files = {
        "usr/sbin/grafana-server": (_GRAFANA_SERVER, 0o755),
        "lib/systemd/system/grafana-server.service": (_GRAFANA_UNIT, 0o644),
        "DEBIAN/postinst": (_GRAFANA_POSTINST, 0o755),
    }
    for rel, (text, mode) in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
    fields = {
        "Package": "grafana", "Version": version, "Architecture": "all",
        "Maintainer": "swarmbench tests <tests@invalid>", "Depends": "adduser, python3",
        "Priority": "optional", "Section": "web",
        "Description": "stand-in for Grafana in swarmbench's install-path test",
    }  # fmt: skip
    (root / "DEBIAN" / "control").write_text(_control(fields))
    return _deb(root, out / f"grafana_{version}_all.deb")


def _deb(root: Path, deb: Path) -> Path:
    _run("dpkg-deb", "--root-owner-group", "--build", str(root), str(deb))
    return deb


class Signer:
    """A throwaway GnuPG home with one signing key."""

    def __init__(self, home: Path) -> None:
        self.home = home
        home.mkdir(mode=0o700, parents=True)
        self.env = {**os.environ, "GNUPGHOME": str(home)}
        _run("gpg", "--batch", "--passphrase", "", "--quick-generate-key",
             "swarmbench test repository <tests@invalid>", "ed25519", "sign", "never",
             env=self.env)  # fmt: skip

    def public_key(self, dest: Path) -> Path:
        dest.write_text(_run("gpg", "--batch", "--armor", "--export", env=self.env))
        return dest

    def close(self) -> None:
        """Stop the gpg-agent that signing started (it outlives gpg as a daemon)."""
        _run("gpgconf", "--kill", "all", env=self.env)

    def clearsign(self, release: Path) -> None:
        _run("gpg", "--batch", "--yes", "--clearsign", "--output",
             str(release.with_name("InRelease")), str(release), env=self.env)  # fmt: skip


def build(repo: Path, suite: str, debs: list[Path], signer: Signer) -> None:
    """repo/pool/*.deb and repo/dists/SUITE/main/binary-amd64/Packages(.gz), signed."""
    pool = repo / "pool"
    pool.mkdir(parents=True)
    for deb in debs:
        shutil.copy(deb, pool / deb.name)
    packages = _run("dpkg-scanpackages", "--multiversion", "pool", "/dev/null", cwd=repo)
    index_dir = repo / "dists" / suite / "main" / "binary-amd64"
    index_dir.mkdir(parents=True)
    (index_dir / "Packages").write_text(packages)
    (index_dir / "Packages.gz").write_bytes(gzip.compress(packages.encode()))
    lines = [
        "Origin: swarmbench-test", "Label: swarmbench-test", f"Suite: {suite}",
        f"Codename: {suite}", "Architectures: amd64 all", "Components: main",
        "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime()), "SHA256:",
    ]  # fmt: skip
    for name in ("Packages", "Packages.gz"):
        data = (index_dir / name).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        lines.append(f" {digest} {len(data)} main/binary-amd64/{name}")
    release = repo / "dists" / suite / "Release"
    release.write_text("\n".join(lines) + "\n")
    signer.clearsign(release)
