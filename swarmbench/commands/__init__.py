"""Subcommands of the `swarmbench` CLI, one module each."""
