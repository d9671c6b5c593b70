"""The cluster read as an attacker would: who runs what, what answers whom, where load may go,
and what a worker can do to its master. On the session's five namespaced hosts, provisioned as
the test inventory asks (the master's UI on its cluster address with TLS and the login).

Runs on the session's provisioning as it is (the `provisioned` fixture), right after
test_cluster.py and before any test changes the cluster's state (conftest.ORDER): the tests
here leave every service as they found it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import hosts
import pytest

from swarmbench.cluster import inventory, web_access
from swarmbench.cluster.master_api import RemoteMaster
from swarmbench.cluster.ssh import open_master
from swarmbench.generators.spec import LoadSpec

pytestmark = pytest.mark.cluster

MASTER, TARGET, MONITOR = "master1", "target1", "monitor1"
ROOT = "/opt/swarmbench"
ALLOWLIST = f"{ROOT}/etc/target-allowlist"
#: The services' programs: anything whose command line names one of these is swarmbench's.
SERVICE_MARKERS = ("/opt/swarmbench", "prometheus")
HERE = Path(__file__).parent
#: What the rogue client may add to the master's peak RSS (it sends a 256 MiB zlib bomb).
RSS_GROWTH_BOUND_MB = 64


@pytest.fixture(scope="module")
def master(
    provisioned: hosts.Provisioning, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RemoteMaster]:
    """The master's UI through SSH, logged in with the password the playbook generated."""
    inv = inventory.load(provisioned.inventory)
    with open_master(inv, tmp_path_factory.mktemp("tunnel"), len(hosts.GROUPS["workers"])) as m:
        yield m


def test_no_service_runs_as_root(cluster: hosts.Cluster, provisioned: hosts.Provisioning) -> None:
    expected = {  # at least these programs, on these hosts
        MASTER: ["locust", "prometheus-node-exporter"],
        "worker1": ["locust"],
        "worker2": ["locust"],
        TARGET: ["sb-rust-std", "swarmbench collector"],
        MONITOR: ["/usr/bin/prometheus "],
    }
    for name in hosts.INVENTORY_HOSTS:
        listing = cluster.ssh(name, "ps -eo user:20=,args=").stdout.splitlines()
        services = [
            line.split(None, 1) for line in listing if any(m in line for m in SERVICE_MARKERS)
        ]
        assert services, f"{name} runs none of swarmbench's services:\n" + "\n".join(listing)
        as_root = [args for user, args in services if user != "swarmbench"]
        assert as_root == [], f"{name} runs as another user than swarmbench: {as_root}"
        for program in expected.get(name, []):
            assert any(program in args for _, args in services), (name, program, services)
    for name in sorted(n for n in hosts.INVENTORY_HOSTS if cluster.hosts[n].systemd):
        unit = "swarmbench-worker" if name.startswith("worker") else "swarmbench-target"
        props = "User,NoNewPrivileges,ProtectSystem,ProtectHome,PrivateTmp,CapabilityBoundingSet"
        shown = cluster.ssh(name, f"systemctl show {unit} -p {props}").stdout
        settings = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
        assert settings == {
            "User": "swarmbench", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
            "ProtectHome": "yes", "PrivateTmp": "yes", "CapabilityBoundingSet": "",
        }, (name, settings)  # fmt: skip


def _scan(namespace: str | None, addresses: list[str]) -> dict[str, list[int]]:
    """Every TCP port of each address, from inside `namespace` (None: this machine)."""
    cmd = [sys.executable, str(HERE / "port_scan.py"), ",".join(addresses)]
    if namespace:
        cmd = ["ip", "netns", "exec", namespace, *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    return dict(json.loads(proc.stdout))


def test_a_port_scan_from_outside_the_cluster_finds_only_ssh(
    cluster: hosts.Cluster, provisioned: hosts.Provisioning
) -> None:
    addresses = {name: cluster.hosts[name].address for name in hosts.INVENTORY_HOSTS}
    started = time.monotonic()
    with hosts.outsider() as (namespace, address):
        found = _scan(namespace, list(addresses.values()))
    print(f"\nscan of {len(addresses)} hosts x 65,535 ports from {address}: "
          f"{time.monotonic() - started:.1f} s")  # fmt: skip
    assert found == {a: [22] for a in addresses.values()}, found
    # The same scan from the controller, which the firewall admits to Prometheus and the target:
    # the ports are there, so finding only SSH above is the firewall's doing.
    admitted = _scan(None, [addresses[MONITOR], addresses[TARGET]])
    assert {22, 9090} <= set(admitted[addresses[MONITOR]]), admitted
    assert {22, 8080} <= set(admitted[addresses[TARGET]]), admitted
    assert 9101 not in admitted[addresses[TARGET]], "the collector answers the controller"


def test_the_web_ui_refuses_paths_foreign_hosts_and_strangers(
    cluster: hosts.Cluster, provisioned: hosts.Provisioning, master: RemoteMaster
) -> None:
    stolen = "/tmp/swarmbench-security-stolen.json"
    target = f"http://{cluster.hosts[TARGET].address}:8080/"
    base = [("user_count", "1"), ("spawn_rate", "1"), ("user_classes", "KeepAliveUser")]
    answer = master._post("/swarm", [*base, ("host", target), ("latency_json", stolen)])
    assert answer["success"] is False and "latency_json" in answer["message"], answer
    elsewhere = f"http://{hosts.BRIDGE_ADDRESS}:8080/"
    answer = master._post("/swarm", [*base, ("host", elsewhere)])
    assert answer["success"] is False, answer
    assert "not in the target allowlist" in answer["message"], answer
    assert master.stats()["state"] in ("ready", "stopped")
    probe = cluster.ssh(MASTER, f"ls {stolen} 2>&1")
    assert "No such file" in probe.stdout, probe.stdout
    # Another origin, with the session: refused. No session (the same pinned TLS): the login.
    assert _status(master.opener, master.url + "/swarm", {"Origin": "http://evil.example"}) == 403
    stranger = web_access.from_inventory(inventory.load(provisioned.inventory)).opener()
    with stranger.open(master.url + "/stats/requests", timeout=10) as response:
        assert urllib.parse.urlsplit(response.geturl()).path.endswith("/login")


def _status(opener: urllib.request.OpenerDirector, url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=b"user_count=1", headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


class ConnectionCounter:
    """A listener on this machine's bridge address that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server((hosts.BRIDGE_ADDRESS, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.done.set()
        self.thread.join(5)
        self.sock.close()


def test_a_worker_loads_nothing_outside_its_allowlist(
    cluster: hosts.Cluster, provisioned: hosts.Provisioning, tmp_path: Path
) -> None:
    # A master that knows no allowlist (run by hand here, on this machine, with its web UI)
    # tells a worker started as the playbook starts it to load this machine's listener: the
    # worker refuses, says so in its log and in the master's UI, and nothing connects.
    listener = ConnectionCounter()
    zmq_port, web_port = _free_port(), _free_port()
    url = f"http://{hosts.BRIDGE_ADDRESS}:{listener.port}/"
    web = f"http://{hosts.BRIDGE_ADDRESS}:{web_port}"
    master_cmd = [str(Path(sys.executable).with_name("locust"))]
    master_cmd += ["-f", str(hosts.ROOT / "locustfiles/http.py"), "--master"]
    master_cmd += ["--master-bind-host", hosts.BRIDGE_ADDRESS, "--master-bind-port", str(zmq_port)]
    master_cmd += ["--web-host", hosts.BRIDGE_ADDRESS, "--web-port", str(web_port)]
    master_cmd += ["--autostart", "--autoquit", "2", "--expect-workers", "1"]
    master_cmd += ["-u", "4", "-r", "4", "-t", "4s", "--host", url, "--metrics-bind", ""]
    worker_cmd = (
        f"timeout 60 {ROOT}/venv/bin/locust -f {ROOT}/locustfiles/http.py --worker"
        f" --master-host {hosts.BRIDGE_ADDRESS} --master-port {zmq_port}"
        f" --target-allowlist {ALLOWLIST}"
    )
    shown = ""
    with (tmp_path / "master.log").open("w") as log:
        hand_master = subprocess.Popen(master_cmd, stdout=log, stderr=log)
    worker = subprocess.Popen(
        [*_ssh_args(cluster, "worker1"), worker_cmd], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 40
        while "refuses to load" not in shown and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(web + "/exceptions", timeout=5) as response:
                    shown = response.read().decode()
            except OSError:
                continue
        hand_master.wait(60)
        worker_out, _ = worker.communicate(timeout=60)
    finally:
        listener.close()
        for proc in (hand_master, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert listener.accepted == 0, f"the worker opened {listener.accepted} connections"
    refusal = f"{url} is not in the target allowlist {ALLOWLIST}"
    assert refusal in worker_out, worker_out[-3000:]  # the worker's log
    assert refusal in shown, shown[-3000:]  # the master's UI, Exceptions tab
    allowed = cluster.ssh("worker1", f"cat {ALLOWLIST}").stdout
    assert f"{cluster.hosts[TARGET].address}:8080" in allowed, allowed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((hosts.BRIDGE_ADDRESS, 0))
        return int(sock.getsockname()[1])


def _peak_rss_mb(cluster: hosts.Cluster) -> float:
    out = cluster.ssh(MASTER, "grep VmHWM /proc/$(cat /run/swarmbench/master.pid)/status").stdout
    return int(out.split()[1]) / 1024


def test_a_rogue_zmq_client_neither_grows_the_master_nor_changes_the_totals(
    cluster: hosts.Cluster, master: RemoteMaster, tmp_path: Path
) -> None:
    before = _peak_rss_mb(cluster)
    victim = master.connected_workers()[0]
    address = cluster.hosts[MASTER].address
    rogue = subprocess.Popen(
        [*_ssh_args(cluster, "worker1"), f"{ROOT}/venv/bin/python - {address} 5557 {victim}"],
        stdin=(HERE / "rogue_worker.py").open("rb"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(master.connected_workers()) < 3:
            assert time.monotonic() < deadline, "the rogue client did not register"
            time.sleep(0.5)
        target = f"http://{cluster.hosts[TARGET].address}:8080/"
        spec = LoadSpec(target, keepalive=True, connections=6, duration_s=5, system="rust-std")
        result = master.run(spec, "KeepAliveUser")
        stats = master.stats()
    finally:
        out, err = rogue.communicate(timeout=90)
    print("\n" + out)
    after = _peak_rss_mb(cluster)
    print(f"master peak RSS {before:.0f} MB -> {after:.0f} MB")
    assert "rogue: sent a zlib bomb" in out and "rogue: sent a valid final report" in out, err
    assert after - before < RSS_GROWTH_BOUND_MB
    workers = result["workers"]
    rogue_ids = [w for w in workers if w.startswith("rogue_")]
    assert all(workers[w]["requests"] == 0 for w in rogue_ids), workers
    real = {w: v["requests"] for w, v in workers.items() if not w.startswith("rogue_")}
    assert len(real) == 2 and all(real.values()), workers
    total = next(s for s in stats["stats"] if s["name"] == "Aggregated")
    assert result["requests"] == sum(real.values()) == total["num_requests"], (result, total)
    assert result["complete"] is True
    log = cluster.ssh(MASTER, "grep -c 'dropped a message' /var/log/swarmbench/master.log").stdout
    assert int(log.strip() or 0) > 0
    assert len(master.connected_workers()) == 2  # the rogue quit; the real workers stay


def _ssh_args(cluster: hosts.Cluster, name: str) -> list[str]:
    return [
        "ssh", "-i", str(cluster.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
        "-o", f"UserKnownHostsFile={cluster.known_hosts}", f"root@{cluster.hosts[name].address}",
    ]  # fmt: skip


def test_make_quiets_the_listening_services_it_installs(cluster: hosts.Cluster) -> None:
    # Debian starts prometheus on every address when it is installed on a systemd machine;
    # `make` runs deploy/quiet-services.sh on the packages it installed. Here on a systemd host,
    # with the unit of the package this machine has (/usr is shared), started as apt would.
    name = "worker2"
    if not cluster.hosts[name].systemd:
        pytest.skip(f"no systemd host: {hosts.systemd_unavailable()}")
    script = (hosts.ROOT / "deploy" / "quiet-services.sh").read_text()

    def quiet(env: str) -> str:
        proc = subprocess.run(
            [*_ssh_args(cluster, name), f"{env} sh -s prometheus wrk"],
            input=script, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    started = cluster.ssh(name, "systemctl enable --now prometheus && sleep 2 && ss -ltnH")
    assert ":9090" in started.stdout, started.stdout + started.stderr
    assert quiet("KEEP_SERVICES=1") == ""
    assert ":9090" in cluster.ssh(name, "ss -ltnH").stdout, "KEEP_SERVICES=1 stopped it"
    said = quiet("")
    assert "stopped and disabled prometheus" in said, said
    after = cluster.ssh(name, "ss -ltnH; systemctl is-enabled prometheus")
    assert ":9090" not in after.stdout and after.stdout.strip().endswith("disabled"), after.stdout
