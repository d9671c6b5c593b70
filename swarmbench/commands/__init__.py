"""Subcommands of the `swarmbench` CLI, one thin module each: options in, one call out.

Each module offers register(subparsers) and sets `func(args) -> int` on its parser. May import
any package below it; nothing imports commands but swarmbench.cli.
"""
