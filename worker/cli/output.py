"""Where the command line prints: rich consoles for standard output and errors.

When output goes to a file or a pipe, rich would wrap tables at 80 columns; a fixed wider console keeps
each row on one line so a table stays readable in logs and CI output.
"""

from __future__ import annotations

from rich.console import Console

PIPE_WIDTH = 160


def stdout_console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


def stderr_console() -> Console:
    console = Console(stderr=True)
    return console if console.is_terminal else Console(stderr=True, width=PIPE_WIDTH)
