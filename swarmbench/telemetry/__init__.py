"""Prometheus as swarmbench uses it: names, queries, the local server, dashboards, sampling.

metrics       every metric, recording-rule and scrape-job name (the one list)
queries       the PromQL the bench reads back for a cell (CPU over a window, peaks, up)
prometheus    Prometheus' HTTP API, and a real Prometheus started for a local run
dashboards    the Grafana dashboards generated from code; their panels feed the report
process_tree  one process tree's CPU, memory, threads and fds at an instant
sampler       that reading sampled over a local cell
scrape        one read of an exporter's /metrics: a counter's total
thresholds    where a figure stops being the server's (the generator-bound ratio)

The exporters themselves are swarmbench.collectors (the top-level collectors/ folder), which
take their names from here. May import: util, errors.
"""
