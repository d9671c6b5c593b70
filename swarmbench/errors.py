"""Errors a user can fix: the CLI prints them as one line and exits 2, never a traceback."""


class UsageError(Exception):
    """Bad input or a missing prerequisite; the message says what and how to fix it."""

    exit_code = 2
