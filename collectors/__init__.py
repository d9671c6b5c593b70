"""Prometheus exporters: the target-process collector and the Locust master's exporter.

target  one server's process tree (CPU, RSS, threads, fds), found by PID, pidfile or port
master  the Locust master's load, latency histogram, users, workers and run info

The folder lives at the top of the checkout, where its users look for it, and installs as
`swarmbench.collectors` (pyproject.toml's package-dir). Metric names come from
swarmbench.telemetry.metrics. May import: telemetry, util, errors.
"""
