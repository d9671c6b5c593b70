"""swarmbench: rerun web-framework shoot-outs and measure what each request costs the server.

The package's layout, its layers and its contracts are described in docs/architecture.md;
`lint-imports` (run by `make lint`) checks the layers declared in pyproject.toml.
"""

__version__ = "0.1.0"
