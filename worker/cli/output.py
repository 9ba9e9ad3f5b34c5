"""Where the command line prints: rich consoles for standard output and errors.

When output goes to a file or a pipe, rich would wrap tables at 80 columns; a fixed wider console keeps
each row on one line so a table stays readable in logs and CI output.
"""

from __future__ import annotations

from rich.console import Console

from connectors.base import ConnectorError
from worker.observability.redaction import scrub

PIPE_WIDTH = 160


def stdout_console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


def stderr_console() -> Console:
    console = Console(stderr=True)
    return console if console.is_terminal else Console(stderr=True, width=PIPE_WIDTH)


def counted(count: int, noun: str) -> str:
    """`count` and the noun, plural unless it is one: "1 deal", "3 deals", "0 deals"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def error_text(exc: Exception) -> str:
    """The message of an error a user can fix, as the command line shows it.

    A connector's message can carry an SDK's text, which may echo a token back; our own settings and
    playbook errors never quote values (and scrubbing them would mask words after "password: ").
    """
    return scrub(str(exc)) if isinstance(exc, ConnectorError) else str(exc)
