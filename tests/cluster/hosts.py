"""Test hosts on one machine: network namespaces, each with sshd or systemd as PID 1 of its own.

Each host is a network namespace on the bridge sbrN (198.18.N.1/24, in the RFC 2544
benchmarking range only; N from SWARMBENCH_TEST_NET, default 0), with its own mount/UTS/PID
namespaces: / and /usr are shared with this machine, /opt, /var and /etc are copy-on-write
overlays, /root and /run are private. Every name starts with PREFIX, so what a crashed run left
behind is found and removed before the next run starts.

Pitfalls met on the way, and how this module avoids them:
- `unshare --fork` ignores SIGTERM in its parent: a host is stopped by SIGKILL to the unshare
  PID, and --kill-child takes its PID 1 (sshd or systemd) and everything under it along.
- A tmpfs on /opt would hide what is installed there; overlayfs keeps it visible.
- Ansible writes /root/.ansible/cp even with ANSIBLE_HOME set: control_path_dir is set in the
  generated ansible.cfg. Each host has its own /root, so the controller's Python must not live
  under /root (the venv is made from Debian's /usr/bin/python3 inside the checkout).
- `ansible_service_mgr` reads /proc/1/comm: sshd as PID 1 is not systemd, so the roles use
  start-stop-daemon there and systemd units on the hosts that boot systemd.
- The hosts have no route to any package registry, and /usr is shared: everything the playbook
  installs comes from the controller (wheelhouse, built servers); apt stays out of the run.

A host in SYSTEMD_HOSTS boots a real systemd instead, so the playbook's systemd units run too:
it gets its own cgroup namespace rooted at a cgroup2 directory of its own (systemd manages only
that subtree), a private /dev and /tmp, read-only /sys and /proc/sys, no capability to load
modules or set the clock, and an /etc layer that hides this machine's enabled units. sshd is
Debian's ssh.service, listening on the host's address only.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "playbooks" / "cluster.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
PLAYBOOK_TIMEOUT_SECONDS = 600  # a busy shared machine takes minutes per run
#: pytest's timeout for a test that provisions twice (the idempotence checks)
TWO_PLAYBOOK_RUNS_S = 2 * PLAYBOOK_TIMEOUT_SECONDS + 120
#: SWARMBENCH_TEST_NET=N (0-99) gives a test run its own network 198.18.N.0/24, bridge and name
#: prefix, so two checkouts can run their cluster tests on one machine at once.
NET = int(os.environ.get("SWARMBENCH_TEST_NET", "0"))
PREFIX = f"sbc{NET or ''}-"
BRIDGE = f"sbr{NET}"
SUBNET = f"198.18.{NET}"
BRIDGE_ADDRESS = f"{SUBNET}.1"
#: An address on the hosts' network where nothing answers.
GHOST_ADDRESS = f"{SUBNET}.99"
FIRST_HOST = 11
SSH_START_SECONDS = 20.0
_OVERLAID = ("opt", "var", "etc")


@dataclass
class Host:
    """One namespaced host: `name` is its inventory name, namespace and hostname."""

    name: str
    address: str
    directory: Path
    systemd: bool = False
    #: /usr a copy-on-write overlay too, so apt may install into this host alone
    private_usr: bool = False
    proc: subprocess.Popen[bytes] | None = None

    @property
    def overlaid(self) -> tuple[str, ...]:
        return (*_OVERLAID, "usr") if self.private_usr else _OVERLAID

    @property
    def namespace(self) -> str:
        return PREFIX + self.name

    @property
    def veth(self) -> str:
        return veth_name(self.namespace)


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

    def services(self, host: str) -> set[str]:
        """The swarmbench services running on a host: its systemd units, else its pidfiles."""
        if self.hosts[host].systemd:
            listing = "systemctl list-units --state=active --plain --no-legend 'swarmbench-*'"
            units = self.ssh(host, listing).stdout.split("\n")
            return {
                u.split()[0].removeprefix("swarmbench-").removesuffix(".service")
                for u in units
                if u.strip()
            }
        pidfiles = self.ssh(host, "ls /run/swarmbench 2>/dev/null").stdout.split()
        return {name.removesuffix(".pid") for name in pidfiles}

    def firewall(self, host: str) -> list[str]:
        """swarmbench's firewall on a host: its loaded tables (swarmbench_ROLE), their files
        (ROLE.nft) and, on a systemd host, its boot unit's file."""
        probe = self.ssh(
            host,
            "nft list tables; ls /opt/swarmbench/firewall; "
            "ls /etc/systemd/system/swarmbench-firewall.service",
        )
        words = probe.stdout.split()
        return [word for word in words if "swarmbench" in word or word.endswith(".nft")]


def veth_name(namespace: str) -> str:
    """The host end of a namespace's link: 15 characters at most, as Linux allows (with a
    two-digit NET, "v-" + the namespace would be 16 for monitor1)."""
    return f"v{NET}-{namespace.removeprefix(PREFIX)}"


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


def _cgroup2_root() -> Path | None:
    """Where this machine mounts cgroup2 (a hybrid machine: /sys/fs/cgroup/unified)."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] == "cgroup2" and os.access(fields[1], os.W_OK):
            return Path(fields[1])
    return None


def systemd_unavailable() -> str | None:
    """Why hosts cannot boot systemd here, or None when they can."""
    for path in ("/lib/systemd/systemd", "/lib/systemd/system/ssh.service", "/usr/bin/setpriv"):
        if not Path(path).exists():
            return f"systemd hosts need {path} (Debian: systemd, openssh-server, util-linux)"
    if _cgroup2_root() is None:
        return "systemd hosts need a writable cgroup2 mount"
    return None


def _remove_cgroup(path: Path) -> None:
    """A systemd host's cgroup tree, deepest first, once its processes are gone (bounded)."""
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        for directory in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if directory.is_dir():
                with contextlib.suppress(OSError):
                    directory.rmdir()
        with contextlib.suppress(OSError):
            path.rmdir()
        if path.exists():
            time.sleep(0.1)


def cleanup_leftovers() -> list[str]:
    """Remove what a previous, crashed run left: its processes, namespaces, links, bridge."""
    removed = []
    for ns in namespaces():
        pids = _run("ip", "netns", "pids", ns, check=False).stdout.split()
        for pid in pids:
            # Only processes inside our own namespaces: the hosts a previous run started.
            _kill(int(pid))
        _run("ip", "netns", "del", ns, check=False)
        _run("ip", "link", "del", veth_name(ns), check=False)
        removed.append(ns)
    if _run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        _run("ip", "link", "del", BRIDGE, check=False)
        removed.append(BRIDGE)
    root = _cgroup2_root()
    for group in root.glob(PREFIX + "*") if root else ():
        _remove_cgroup(group)
        removed.append(str(group))
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
    for top in host.overlaid:
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
    for top in host.overlaid:
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


#: Units that make no sense in a container host (devices, clock, consoles, kernel settings).
_MASKED_UNITS = (
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "systemd-hwdb-update.service",
    "systemd-modules-load.service",
    "kmod-static-nodes.service",
    "systemd-sysctl.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount",
    "sys-fs-fuse-connections.mount",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "dev-hugepages.mount",
    "systemd-timesyncd.service",
    "systemd-time-wait-sync.service",
    "systemd-pstore.service",
    "systemd-firstboot.service",
    "systemd-repart.service",
    "systemd-pcrphase.service",
    "systemd-pcrphase-sysinit.service",
    "systemd-remount-fs.service",
    "systemd-fsck-root.service",
    "systemd-random-seed.service",
    "systemd-journald-audit.socket",
    "systemd-machine-id-commit.service",
    "getty.target",
    "console-getty.service",
    "getty@tty1.service",
    "swap.target",
    "cryptsetup.target",
    "veritysetup.target",
    "integritysetup.target",
    "systemd-ask-password-console.path",
    "systemd-ask-password-wall.path",
    "systemd-networkd.service",
    "systemd-resolved.service",
    "timers.target",
)
_DROPPED_CAPABILITIES = (
    "-sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-mac_admin,-mac_override,"
    "-audit_control,-audit_read,-sys_boot"
)


def _prepare_systemd_etc(cluster: Cluster, host: Host) -> None:
    """The host's own /etc layer: identity, sshd on its address, and only the units it needs."""
    etc = host.directory / "etc.up"
    units = etc / "systemd" / "system"
    (etc / "ssh" / "sshd_config.d").mkdir(parents=True)
    units.mkdir(parents=True)
    (etc / "hostname").write_text(host.name + "\n")
    (etc / "machine-id").write_text(os.urandom(16).hex() + "\n")
    (etc / "fstab").write_text("")
    shutil.copy(cluster.workdir / "host_key", etc / "ssh" / "swarmbench_host_key")
    (etc / "ssh" / "swarmbench_host_key").chmod(0o600)
    config = _sshd_config(host, cluster.workdir).splitlines()
    config = [line for line in config if not line.startswith(("HostKey", "PidFile", "Subsystem"))]
    config.append("HostKey /etc/ssh/swarmbench_host_key")
    (etc / "ssh" / "sshd_config.d" / "00-swarmbench.conf").write_text("\n".join(config) + "\n")
    # This machine's enabled units (databases, exporters...) must not start in every host:
    # opaque upper directories hide the lower ones.
    real = Path("/etc/systemd/system")
    for wants in [*real.glob("*.wants"), *real.glob("*.requires")]:
        (units / wants.name).mkdir()
        os.setxattr(units / wants.name, "trusted.overlay.opaque", b"y")
    (units / "multi-user.target.wants").mkdir(exist_ok=True)
    (units / "multi-user.target.wants" / "ssh.service").symlink_to(
        "/lib/systemd/system/ssh.service"
    )
    (units / "default.target").symlink_to("/lib/systemd/system/multi-user.target")
    generators = etc / "systemd" / "system-generators"
    generators.mkdir()
    (generators / "systemd-sysv-generator").symlink_to("/dev/null")  # old init.d scripts
    for unit in _MASKED_UNITS:
        (units / unit).symlink_to("/dev/null")


def _systemd_script(host: Host, cgroup: Path) -> str:
    """PID 1 of a systemd host: its own cgroup, private mounts, then systemd itself."""
    d = host.directory
    mounts = "\n".join(
        f"mount -t overlay overlay -o lowerdir=/{top},upperdir={d}/{top}.up,"
        f"workdir={d}/{top}.work /{top}"
        for top in host.overlaid
    )
    boot = (
        "mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup\n"
        "exec env -i container=other PATH=/usr/sbin:/usr/bin:/sbin:/bin"
        f" setpriv --bounding-set {_DROPPED_CAPABILITIES} /lib/systemd/systemd"
    )
    return f"""hostname {host.name}
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo $$ > /sys/fs/cgroup/{cgroup.name}/cgroup.procs
umount /sys/fs/cgroup
{mounts}
mount --bind {d}/root /root
umount -l /run/netns 2>/dev/null || true
umount -l /dev
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=755,nosuid tmpfs /dev
mknod -m666 /dev/null c 1 3; mknod -m666 /dev/zero c 1 5; mknod -m666 /dev/full c 1 7
mknod -m666 /dev/random c 1 8; mknod -m666 /dev/urandom c 1 9; mknod -m666 /dev/tty c 5 0
mkdir -m755 /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx; mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd; ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout; ln -s /proc/self/fd/2 /dev/stderr
mount --bind /proc/sys /proc/sys; mount -o remount,bind,ro /proc/sys
mount -o remount,bind,ro /sys
exec unshare --cgroup /bin/sh -ec '{boot}'
"""


def _network(host: Host) -> None:
    ns = host.namespace
    _run("ip", "netns", "add", ns)
    _run("ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
    _run("ip", "link", "set", host.veth, "master", BRIDGE, "up")
    _run("ip", "-n", ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
    _run("ip", "-n", ns, "link", "set", "lo", "up")
    _run("ip", "-n", ns, "link", "set", "eth0", "up")


def _host_cgroup(host: Host) -> Path:
    root = _cgroup2_root()
    assert root is not None, "systemd hosts need cgroup2: check systemd_unavailable() first"
    return root / host.namespace


def _start(host: Host) -> None:
    args = ["ip", "netns", "exec", host.namespace, "unshare", "--mount", "--uts", "--pid"]
    args += ["--fork", "--kill-child", "--mount-proc", "--propagation", "private"]
    if host.systemd:
        cgroup = _host_cgroup(host)
        cgroup.mkdir(exist_ok=True)
        args += ["--ipc", "/bin/sh", "-ec", _systemd_script(host, cgroup)]
    else:
        args += ["/bin/sh", "-ec", _host_script(host)]
    log = (host.directory / "sshd.log").open("wb")
    host.proc = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
    )


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


def create(
    names: list[str],
    systemd: frozenset[str] = frozenset(),
    private_usr: frozenset[str] = frozenset(),
) -> Cluster:
    """Start one host per name at 198.18.N.11, .12, ...; those in `systemd` boot systemd, those
    in `private_usr` get their own copy-on-write /usr (apt may install there).

    destroy() undoes all of it.
    """
    cleanup_leftovers()
    cluster = Cluster(workdir=Path(tempfile.mkdtemp(prefix=PREFIX + "cluster-")))
    try:
        _write_keys(cluster)
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        for index, name in enumerate(names):
            directory = cluster.workdir / "hosts" / name
            address = f"{SUBNET}.{FIRST_HOST + index}"
            host = Host(name, address, directory, name in systemd, name in private_usr)
            cluster.hosts[name] = host
            _prepare_host(cluster, host)
            if host.systemd:
                _prepare_systemd_etc(cluster, host)
            _network(host)
            _start(host)
        deadline = time.monotonic() + SSH_START_SECONDS
        for host in cluster.hosts.values():
            _wait_ssh(host, deadline)
    except BaseException:
        destroy(cluster)
        raise
    return cluster


@contextlib.contextmanager
def outsider(index: int = 50) -> Iterator[tuple[str, str]]:
    """A bare network namespace on the hosts' network and in no inventory group, for probing
    the cluster as a stranger would: yields (namespace, address); removed afterwards."""
    host = Host("outsider", f"{SUBNET}.{index}", Path("/nonexistent"))
    _network(host)
    try:
        yield host.namespace, host.address
    finally:
        _run("ip", "netns", "del", host.namespace, check=False)
        _run("ip", "link", "del", host.veth, check=False)


def stop_host(host: Host) -> None:
    """SIGKILL the unshare: it ignores SIGTERM, and --kill-child takes the whole host down."""
    if host.proc is not None:
        _kill(host.proc.pid)
        host.proc.wait(timeout=10)
        host.proc = None
    if host.systemd:
        _remove_cgroup(_host_cgroup(host))


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
#: Every host of GROUPS, in that order: the hosts a provisioning reaches (the session may have
#: others, in no group).
INVENTORY_HOSTS = [name for group in GROUPS.values() for name in group]
#: Hosts that boot systemd where the machine can (systemd_unavailable()): the playbook then runs
#: their services as systemd units, the others' with start-stop-daemon.
SYSTEMD_HOSTS = frozenset({"worker2", "target1"})
#: A sixth host in no group of GROUPS, left fresh for the test of the playbook's install path
#: on a real host (apt, Grafana's apt source): it boots systemd, and apt installs into its own
#: copy-on-write /usr, never this machine's.
FRESH_HOST = "fresh1"
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
    """An ini inventory: the four groups, each host's SSH variables and TEST_VARS; the master's
    web UI on its cluster address (so with TLS and the login), its secrets in the workdir.

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
            # The master's UI beyond loopback: with TLS and the login, the exposed case.
            web = f" master_web_host={addresses[name]}" if group == "master" else ""
            lines.append(
                f"{name} ansible_host={addresses[name]} ansible_user=root "
                f"ansible_ssh_private_key_file={cluster.key} "
                f"ansible_ssh_common_args='{ssh_args}'{web}"
            )
        lines.append("")
    lines.append("[all:vars]")
    lines += [f"{key}={value}" for key, value in TEST_VARS.items()]
    # The controller's copy of the UI's password and certificate, in the scratch directory.
    lines.append(f"master_web_password_file={cluster.workdir / 'locust-web-password'}")
    path = cluster.workdir / "inventory.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


#: Where the master role keeps the UI's certificate and login (write_inventory: TLS and login on).
MASTER_WEB_CERT = "/opt/swarmbench/tls/web.crt"
MASTER_WEB_LOGIN = "/opt/swarmbench/etc/web-login"
#: curl's cookie jar, in the master's own /root (not this machine's)
_MASTER_COOKIES = "/root/.swarmbench-test-cookies"


def master_web(
    cluster: Cluster, path: str, data: str | None = None, master: str = "master1"
) -> subprocess.CompletedProcess[str]:
    """Locust's web API on the master, fetched there with curl: on its cluster address with TLS
    and the login (the test inventory's setting), logged in with the copy the playbook gave it.
    A POST of the form `data` when it is given (a string), else a GET."""
    url = f"https://{cluster.hosts[master].address}:8089"
    curl = f"curl -sf --max-time 10 --cacert {MASTER_WEB_CERT}"
    curl += f" -b {_MASTER_COOKIES} -c {_MASTER_COOKIES}"
    login = (
        f"{curl} -o /dev/null --data-urlencode username=swarmbench --data-urlencode"
        f' "password=$(cut -d: -f2- {MASTER_WEB_LOGIN})" {url}/login_submit'
    )
    body = "" if data is None else f"-X POST --data {shlex.quote(data)}"
    return cluster.ssh(master, f"{login} && {curl} {body} {url}{path}")


def master_json(
    cluster: Cluster, path: str, data: str | None = None, master: str = "master1"
) -> dict:
    """master_web's answer, which must come, as JSON."""
    proc = master_web(cluster, path, data, master)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def output(proc: subprocess.CompletedProcess[str]) -> str:
    """A playbook run's stdout and stderr, for messages and assertions."""
    return f"{proc.stdout}\n{proc.stderr}"


def ansible_env(cluster: Cluster) -> dict[str, str]:
    """Ansible's state under the cluster's scratch directory, never in the hosts' /root.

    The session runs the playbook over a dozen times, minutes each on a busy machine, so the
    settings spare what a run need not repeat: the hosts' facts (what the roles read of them,
    the service manager, cores and address, stays as it is for the session's life) are gathered
    once and cached, and SSH does not compress on a local bridge (Ansible's default ssh_args
    less -C). The playbook's tasks and what they do on the hosts are the same as for users.
    """
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
                "gathering = smart",
                "fact_caching = jsonfile",
                f"fact_caching_connection = {home / 'facts'}",
                "fact_caching_timeout = 0",
                "[ssh_connection]",
                f"control_path_dir = {home / 'cp'}",
                "ssh_args = -o ControlMaster=auto -o ControlPersist=60s",
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
class Provisioning:
    """A finished playbook run: the inventory it ran with, its output and how long it took."""

    inventory: Path
    proc: subprocess.CompletedProcess[str]
    seconds: float


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
        seconds = time.monotonic() - started
        # In each test's captured output: where a slow session's minutes went.
        print(f"\nansible-playbook {' '.join(args) or '(no options)'}: {seconds:.1f} s")
        return proc, seconds
