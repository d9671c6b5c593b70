"""Exporters: the target-process collector and the Locust master's metrics plugin.

Installed as `swarmbench.collectors` (see pyproject.toml's package-dir).
"""
