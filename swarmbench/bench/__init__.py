"""`swarmbench bench`: the matrix of cells, run on this machine or on a cluster.

matrix          profiles, options and the cells they expand to (BenchConfig)
schedule        the two phases (saturation, same traffic), interleaved rounds, the rates
runner          every round: measure, fold into its cell, write; the phases in order
rounds          a round's figures; a cell's medians, intervals, flags and verdict from them
pool            the targets kept up between rounds: started, verified, warmed up once
readback        each round's window read back from Prometheus once it has been scraped
backend         the seam between cells and machines, and this machine's backend
local_locust    one Locust in web mode for a local run: each Locust round is one run of it
cluster_backend the same cells on an Ansible inventory's hosts
services        what a local run keeps up for its whole length: Prometheus, a collector
progress        the progress bar with live requests/s and time left
runinfo         run.json: parameters, machine, placement, versions

Writes results (swarmbench.results); the report reads them. May import: cluster, generators,
targets, engine, telemetry, results, util, errors.
"""
