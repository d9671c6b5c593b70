"""The worker-scaling benchmark (worker_scaling.py) runs on the session's hosts: one short round.

The ratio it prints is the benchmark's figure; the test only holds what must be true of any
round: one worker alone, then both, each sending its share, and both connected at the end.
"""

from __future__ import annotations

import hosts
import pytest
import worker_scaling

pytestmark = pytest.mark.cluster


def test_worker_scaling_round(cluster: hosts.Cluster, ansible: hosts.Ansible) -> None:
    base = worker_scaling.cgroup_base()
    if base is None:
        pytest.skip("no cgroup CPU controller to give each worker its quota")
    inventory = hosts.write_inventory(cluster)
    # The bench tests before this one leave the last system they ran on the target.
    proc, _ = ansible.playbook(
        inventory, "-e", "system=rust-std", "--limit", f"localhost,{worker_scaling.TARGET}"
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    runs = worker_scaling.measure(
        cluster, inventory, rounds=1, duration_s=3, users_per_worker=8, worker_cpu=0.25
    )
    print("\n" + worker_scaling.summary(runs, 0.25))
    assert [r.workers for r in runs] == [1, 2]
    one, two = runs
    assert set(one.per_worker) == {"worker1"}, one.per_worker
    assert set(two.per_worker) == set(worker_scaling.WORKERS), two.per_worker
    assert all(count > 0 for run in runs for count in run.per_worker.values())
    assert one.worker_cores > 0 and two.worker_cores > 0
    for name in worker_scaling.WORKERS:
        assert worker_scaling.host_pids(name, "locust"), f"{name}'s worker was not started again"
    assert not list(base.glob("sb-scaling-*")), "the benchmark left its cgroups"
