"""Load generators as bench cells run them: wrk, ab and Locust (swarmbench's users).

Each generator turns a `LoadSpec` into a command line and the tool's output into a
`GeneratorRun` (spec), so the local bench, the cluster bench and the self-benchmarks drive all
three alike (runner). `locust.locust_command` is the one builder of a Locust command line.

May import: swarmbench.util, swarmbench.errors. Imported by bench, cluster and capacity.
"""
