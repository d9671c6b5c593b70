"""The playbook's real-host install path, on a fresh host with a local apt repository.

The session's sixth host (hosts.FRESH_HOST, in no group of the other tests) boots systemd with
its own copy-on-write /usr, so apt installs there and nowhere else. Its apt sources are replaced
by two signed repositories built here and served on the host's own loopback (no internet):
"debian" holds python3-debian and python3-chardet, rebuilt from this machine's installed files
and purged from the host first, so the host starts without them as a fresh Debian does; "grafana"
holds a stand-in for Grafana's package built with dpkg-deb. The whole playbook then runs on that
host in every role with apt on (common_install_system_packages) and Grafana on: python3-debian
must be installed before deb822_repository adds Grafana's source with its signing key fetched
from a URL, Grafana installed from it, provisioned and started; a second run changes nothing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import apt_repo
import hosts
import pytest

pytestmark = pytest.mark.cluster

HOST = hosts.FRESH_HOST
PORT = 8780  # on the host's own loopback, in its own network namespace
PURGED = ("python3-debian", "python3-chardet")
SOURCES = f"""Types: deb
URIs: http://127.0.0.1:{PORT}/debian
Suites: bookworm
Components: main
Signed-By: /etc/apt/keyrings/swarmbench-test.asc
"""


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for tool in ("gpg", "dpkg-deb", "dpkg-scanpackages"):
        if shutil.which(tool) is None:
            pytest.skip(f"the install-path test needs {tool} (Debian: gnupg, dpkg-dev)")
    missing = [p for p in PURGED if subprocess.run(["dpkg", "-s", p], capture_output=True,
                                                   check=False).returncode]  # fmt: skip
    if missing:
        pytest.skip(f"rebuilding {', '.join(missing)} needs them installed (make system-deps)")
    work = tmp_path_factory.mktemp("apt")
    repo = work / "repo"
    signer = apt_repo.Signer(work / "gnupg")
    try:
        debs = [apt_repo.repack(package, work) for package in PURGED]
        apt_repo.build(repo / "debian", "bookworm", debs, signer)
        apt_repo.build(repo / "grafana", "stable", [apt_repo.fake_grafana(work)], signer)
        signer.public_key(repo / "key.asc")
    finally:
        signer.close()
    return repo


@pytest.fixture(scope="module")
def fresh_host(cluster: hosts.Cluster, repository: Path) -> Iterator[hosts.Host]:
    if HOST not in cluster.hosts:
        pytest.skip(f"no fresh systemd host: {hosts.systemd_unavailable()}")
    host = cluster.hosts[HOST]
    server = subprocess.Popen(
        ["ip", "netns", "exec", host.namespace, "/usr/bin/python3", "-m", "http.server",
         "--bind", "127.0.0.1", str(PORT), "--directory", str(repository)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        key = (repository / "key.asc").read_text()
        prepare = (
            f"dpkg --purge {' '.join(PURGED)} >/dev/null"
            " && rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*"
            " && mkdir -p /etc/apt/keyrings"
            f" && printf '%s' '{key}' > /etc/apt/keyrings/swarmbench-test.asc"
            f" && printf '%s' '{SOURCES}' > /etc/apt/sources.list.d/local.sources"
            f" && for i in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:{PORT}/key.asc"
            " && break; sleep 0.1; done"
            # Lists that match the sources, as on any Debian host: this machine's are dropped.
            " && rm -rf /var/lib/apt/lists/* && apt-get update -q >/dev/null"
        )
        done = cluster.ssh(HOST, prepare)
        assert done.returncode == 0, done.stderr
        before = cluster.ssh(HOST, "/usr/bin/python3 -c 'import debian.deb822'")
        assert before.returncode != 0, "the host still has python3-debian"
        yield host
    finally:
        server.kill()
        server.wait()


def _inventory(cluster: hosts.Cluster, tmp_path: Path) -> Path:
    host = cluster.hosts[HOST]
    ssh_args = f"-o StrictHostKeyChecking=no -o UserKnownHostsFile={cluster.known_hosts}"
    line = (
        f"{HOST} ansible_host={host.address} ansible_user=root "
        f"ansible_ssh_private_key_file={cluster.key} ansible_ssh_common_args='{ssh_args}'"
    )
    groups = "".join(f"[{group}]\n{line}\n" for group in hosts.GROUPS)
    settings = {
        "common_install_system_packages": "true",
        "monitor_grafana_enabled": "true",
        "monitor_grafana_apt_repo": f"http://127.0.0.1:{PORT}/grafana",
        "monitor_grafana_apt_key_url": f"http://127.0.0.1:{PORT}/key.asc",
        "monitor_grafana_password_file": str(tmp_path / "grafana-admin-password"),
        "master_web_password_file": str(tmp_path / "locust-web-password"),
        "workers_processes": "1",
        "targets_threads": "1",
    }
    path = tmp_path / "fresh.ini"
    path.write_text(groups + "[all:vars]\n" + "".join(f"{k}={v}\n" for k, v in settings.items()))
    return path


# Two full playbook runs, each bounded by its own timeout: pytest's 600 s is one run's bound.
@pytest.mark.timeout(hosts.TWO_PLAYBOOK_RUNS_S)
def test_fresh_host_installs_from_apt_and_grafanas_source(
    cluster: hosts.Cluster, fresh_host: hosts.Host, tmp_path: Path
) -> None:
    ansible = hosts.Ansible(cluster)
    inventory = _inventory(cluster, tmp_path)
    first, seconds = ansible.playbook(inventory)
    print(f"\ninstall path on a fresh host: {seconds:.1f} s")
    assert first.returncode == 0, (first.stdout + first.stderr)[-6000:]
    probe = cluster.ssh(
        HOST,
        "/usr/bin/python3 -c 'import debian.deb822' && echo deb822-ok;"
        " dpkg-query -W -f='${Package} ${Status}\\n' grafana python3-debian;"
        " cat /etc/apt/sources.list.d/grafana.sources;"
        " systemctl is-active grafana-server swarmbench-prometheus;"
        " ls /var/lib/grafana/dashboards/swarmbench",
    )
    out = probe.stdout
    assert "deb822-ok" in out, probe.stderr
    assert "grafana install ok installed" in out and "python3-debian install ok installed" in out
    assert f"URIs: http://127.0.0.1:{PORT}/grafana" in out and "Signed-By:" in out, out
    assert [line for line in out.splitlines() if line == "active"] == ["active"] * 2, out
    assert "swarmbench-run.json" in out and "swarmbench-cluster.json" in out, out
    # The stand-in serves Grafana's provisioning folder: the datasource arrived, not the default.
    datasource = cluster.ssh(
        HOST, f"curl -sf http://{fresh_host.address}:3000/datasources/swarmbench.yml"
    )
    assert "uid: swarmbench-prometheus" in datasource.stdout, datasource.stderr
    assert "isDefault: false" in datasource.stdout

    second, seconds = ansible.playbook(inventory)
    print(f"second run: {seconds:.1f} s")
    assert second.returncode == 0, (second.stdout + second.stderr)[-6000:]
    changed = _changed_tasks(second.stdout)
    print(f"changed on the second run: {changed or 'nothing'}")
    # The install path changes nothing the second time. (A server binary another checkout
    # rebuilt meanwhile in the shared build folder is shipped again, and its unit restarted:
    # test_cluster.py checks the rest's idempotence on hosts of their own.)
    install = [t for t in changed if re.search(r"apt|Debian|Grafana|grafana|python3-debian", t)]
    assert install == [], second.stdout[-6000:]


def _changed_tasks(output: str) -> list[str]:
    """The names of the tasks that reported `changed` in a playbook's output."""
    changed, task = [], ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line.split("[", 1)[1].rsplit("]", 1)[0]
        elif line.startswith("changed:") and task not in changed:
            changed.append(task)
    return changed
