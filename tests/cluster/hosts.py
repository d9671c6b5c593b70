"""Test hosts on one machine: network namespaces, each with sshd as PID 1 of its own namespaces.

Each host is a network namespace on the bridge sbr0 (198.18.0.1/24, RFC 2544 benchmarking
range only), with its own mount/UTS/PID namespaces: / and /usr are shared with this machine,
/opt, /var and /etc are copy-on-write overlays, /root and /run are private. Recipe and pitfalls:
shared/notes/netns-cluster.md. Every name starts with PREFIX, so what a crashed run left behind
is found and removed before the next run starts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "cluster.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
PLAYBOOK_TIMEOUT_SECONDS = 300
PREFIX = "sbc-"
BRIDGE = "sbr0"
BRIDGE_ADDRESS = "198.18.0.1"
FIRST_HOST = 11
SSH_START_SECONDS = 20.0
_OVERLAID = ("opt", "var", "etc")


@dataclass
class Host:
    """One namespaced host: `name` is its inventory name, namespace and hostname."""

    name: str
    address: str
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def namespace(self) -> str:
        return PREFIX + self.name

    @property
    def veth(self) -> str:
        return "v-" + self.namespace  # 15 characters at most for Linux interface names


@dataclass
class Cluster:
    """The hosts, the controller's SSH key and known_hosts file, and a scratch directory."""

    workdir: Path
    hosts: dict[str, Host] = field(default_factory=dict)

    @property
    def key(self) -> Path:
        return self.workdir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    def ssh(self, host: str, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a shell command on a host as root, output captured."""
        args = [
            "ssh",
            "-i",
            str(self.key),
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            f"root@{self.hosts[host].address}",
            command,
        ]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


def available() -> str | None:
    """Why the cluster tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "cluster tests need root (network namespaces, sshd)"
    if shutil.which("ip") is None or _run("ip", "netns", "list", check=False).returncode != 0:
        return "cluster tests need `ip netns` (iproute2)"
    for tool in ("sshd", "unshare", "ssh-keygen", "ssh"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"cluster tests need {tool} (Debian: openssh-server, util-linux)"
    return None


def namespaces() -> list[str]:
    """This harness's network namespaces that exist now."""
    out = _run("ip", "netns", "list", check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [name for name in names if name.startswith(PREFIX)]


def cleanup_leftovers() -> list[str]:
    """Remove what a previous, crashed run left: its processes, namespaces, links, bridge."""
    removed = []
    for ns in namespaces():
        pids = _run("ip", "netns", "pids", ns, check=False).stdout.split()
        for pid in pids:
            # Only processes inside our own namespaces: the hosts a previous run started.
            _kill(int(pid))
        _run("ip", "netns", "del", ns, check=False)
        _run("ip", "link", "del", "v-" + ns, check=False)
        removed.append(ns)
    if _run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        _run("ip", "link", "del", BRIDGE, check=False)
        removed.append(BRIDGE)
    for stale in Path(tempfile.gettempdir()).glob(PREFIX + "cluster-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return removed


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _write_keys(cluster: Cluster) -> None:
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(cluster.key))
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(cluster.workdir / "host_key"))
    cluster.known_hosts.touch()


def _sshd_config(host: Host, workdir: Path) -> str:
    return "\n".join(
        [
            f"ListenAddress {host.address}:22",
            f"HostKey {workdir / 'host_key'}",
            "PidFile none",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "MaxStartups 50",
            "MaxSessions 50",
            "Subsystem sftp internal-sftp",
            "",
        ]
    )


def _host_script(host: Host) -> str:
    """PID 1 of the host: private mounts, then sshd in the foreground."""
    d = host.directory
    lines = [f"hostname {host.name}"]
    for top in _OVERLAID:
        lines.append(
            f"mount -t overlay overlay -o lowerdir=/{top},upperdir={d}/{top}.up,"
            f"workdir={d}/{top}.work /{top}"
        )
    lines += [
        f"mount --bind {d}/root /root",
        "mount -t tmpfs -o mode=755 tmpfs /run",
        "mkdir -p /run/sshd",
        f"exec /usr/sbin/sshd -D -e -f {d}/sshd_config",
    ]
    return "\n".join(lines)


def _prepare_host(cluster: Cluster, host: Host) -> None:
    d = host.directory
    for top in _OVERLAID:
        (d / f"{top}.up").mkdir(parents=True)
        (d / f"{top}.work").mkdir()
    ssh_dir = d / "root" / ".ssh"
    ssh_dir.mkdir(parents=True)
    (d / "root").chmod(0o700)
    ssh_dir.chmod(0o700)
    authorized = ssh_dir / "authorized_keys"
    authorized.write_text(cluster.key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    (d / "sshd_config").write_text(_sshd_config(host, cluster.workdir))


def _network(host: Host) -> None:
    ns = host.namespace
    _run("ip", "netns", "add", ns)
    _run("ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    _run("ip", "link", "set", host.veth, "master", BRIDGE, "up")
    _run("ip", "-n", ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
    _run("ip", "-n", ns, "link", "set", "lo", "up")
    _run("ip", "-n", ns, "link", "set", "eth0", "up")


def _start(host: Host) -> None:
    args = ["ip", "netns", "exec", host.namespace, "unshare", "--mount", "--uts", "--pid"]
    args += ["--fork", "--kill-child", "--mount-proc", "--propagation", "private"]
    args += ["/bin/sh", "-ec", _host_script(host)]
    log = (host.directory / "sshd.log").open("wb")
    host.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)


def _wait_ssh(host: Host, deadline: float) -> None:
    while time.monotonic() < deadline:
        if host.proc is not None and host.proc.poll() is not None:
            log = (host.directory / "sshd.log").read_text(errors="replace")
            raise RuntimeError(f"host {host.name} exited at start: {log[-2000:]}")
        try:
            with socket.create_connection((host.address, 22), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"host {host.name}: sshd did not answer on {host.address}:22")


def create(names: list[str]) -> Cluster:
    """Start one host per name at 198.18.0.11, .12, ...; destroy() undoes all of it."""
    cleanup_leftovers()
    cluster = Cluster(workdir=Path(tempfile.mkdtemp(prefix=PREFIX + "cluster-")))
    try:
        _write_keys(cluster)
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        for index, name in enumerate(names):
            host = Host(name, f"198.18.0.{FIRST_HOST + index}", cluster.workdir / "hosts" / name)
            cluster.hosts[name] = host
            _prepare_host(cluster, host)
            _network(host)
            _start(host)
        deadline = time.monotonic() + SSH_START_SECONDS
        for host in cluster.hosts.values():
            _wait_ssh(host, deadline)
    except BaseException:
        destroy(cluster)
        raise
    return cluster


def stop_host(host: Host) -> None:
    """SIGKILL the unshare: it ignores SIGTERM, and --kill-child takes the whole host down."""
    if host.proc is not None:
        _kill(host.proc.pid)
        host.proc.wait(timeout=10)
        host.proc = None


def destroy(cluster: Cluster) -> None:
    for host in cluster.hosts.values():
        stop_host(host)
        _run("ip", "netns", "del", host.namespace, check=False)
        _run("ip", "link", "del", host.veth, check=False)
    _run("ip", "link", "del", BRIDGE, check=False)
    shutil.rmtree(cluster.workdir, ignore_errors=True)


#: The roles of the test cluster, in address order (.11 master1 ... .15 monitor1).
GROUPS = {
    "master": ["master1"],
    "workers": ["worker1", "worker2"],
    "targets": ["target1"],
    "monitor": ["monitor1"],
}
#: Settings of the test hosts: no apt (they share /usr with this machine), no Grafana.
TEST_VARS = {
    "common_install_system_packages": "false",
    "monitor_grafana_enabled": "false",
    "workers_processes": "1",
    "targets_threads": "1",
}


def write_inventory(
    cluster: Cluster,
    groups: dict[str, list[str]] | None = None,
    extra_hosts: dict[str, str] | None = None,
) -> Path:
    """An ini inventory: the four groups, each host's SSH variables and TEST_VARS.

    extra_hosts adds hosts (name -> address) to the workers group, e.g. one that never answers.
    """
    groups = GROUPS if groups is None else groups
    addresses = {name: host.address for name, host in cluster.hosts.items()}
    addresses.update(extra_hosts or {})
    ssh_args = f"-o StrictHostKeyChecking=no -o UserKnownHostsFile={cluster.known_hosts}"
    lines = []
    for group, names in groups.items():
        lines.append(f"[{group}]")
        members = names + (list(extra_hosts) if extra_hosts and group == "workers" else [])
        for name in members:
            lines.append(
                f"{name} ansible_host={addresses[name]} ansible_user=root "
                f"ansible_ssh_private_key_file={cluster.key} "
                f"ansible_ssh_common_args='{ssh_args}'"
            )
        lines.append("")
    lines.append("[all:vars]")
    lines += [f"{key}={value}" for key, value in TEST_VARS.items()]
    path = cluster.workdir / "inventory.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def ansible_env(cluster: Cluster) -> dict[str, str]:
    """Ansible's state under the cluster's scratch directory, never in the hosts' /root."""
    home = cluster.workdir / "ansible"
    (home / "cp").mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(exist_ok=True)
    config = cluster.workdir / "ansible.cfg"
    config.write_text(
        "\n".join(
            [
                "[defaults]",
                "host_key_checking = False",
                "interpreter_python = /usr/bin/python3",
                "forks = 10",
                "timeout = 10",
                f"local_tmp = {home / 'tmp'}",
                "[ssh_connection]",
                f"control_path_dir = {home / 'cp'}",
                "pipelining = True",
                "",
            ]
        )
    )
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_HOME=str(home),
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(home / "cp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
    )
    return env


@dataclass
class Ansible:
    """Runs playbooks/cluster.yml against the cluster; keeps the time each run took."""

    cluster: Cluster

    def playbook(
        self, inventory: Path, *args: str, timeout: float = PLAYBOOK_TIMEOUT_SECONDS
    ) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        proc = subprocess.run(
            [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(PLAYBOOK), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=ansible_env(self.cluster),
            cwd=ROOT,
            check=False,
        )
        return proc, time.monotonic() - started
