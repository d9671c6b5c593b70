"""`swarmbench bench`: the matrix of cells, run on this machine or on a cluster.

matrix          profiles, options and the cells they expand to (BenchConfig)
runner          every cell: start target, verify, warm up, measure, read Prometheus, verdict
backend         the seam between cells and machines, and this machine's backend
cluster_backend the same cells on an Ansible inventory's hosts
services        what a local run keeps up for its whole length: Prometheus, a collector
progress        the progress bar with live requests/s and time left
runinfo         run.json: parameters, machine, placement, versions

Writes results (swarmbench.results); the report reads them. May import: cluster, generators,
targets, engine, telemetry, results, util, errors.
"""
