"""Errors a user can cause and fix (bad settings, unreadable input files), shown without a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A mistake the user can fix; the message says what and how. `exit_code` is the process exit code."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
