"""A real cluster from the controller: inventory, playbook, SSH, the master's web API.

inventory   an Ansible inventory read through ansible-inventory; Ansible's SSH command
playbook    running playbooks/cluster.yml with its log kept and its failure reason told
ssh         the SSH tunnel to the master's web UI, and a logged-in session on it
web_access  the UI's login and pinned TLS certificate, as the master role sets them up
master_api  driving the Locust master through its web API, one measured run per call
target_check the bench's target address against the allowlist the playbook wrote
wheelhouse  what the controller builds and ships to hosts (wheels, built servers)
loadgen     `python -m swarmbench.cluster.loadgen`: a wrk or ab run on a worker host

May import: generators, targets, engine, telemetry, results, util, errors. The bench's
cluster backend (swarmbench.bench.cluster_backend) is built on it.
"""
