"""swarmbench: rerun web-framework shoot-outs and measure what each request costs the server."""

__version__ = "0.1.0"
