"""The `commitments` console script (and `python -m worker`): load the command line, then run it.

Loading it imports the CRM SDKs, SQLAlchemy and APScheduler, which takes about a second. A Ctrl-C in that
time stops the command before it has done anything: one short line and exit code 130, as typer gives a
Ctrl-C that reaches it inside a command, instead of a KeyboardInterrupt traceback through the imports.
This module imports nothing of the project at load time, so the whole of that second is covered.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from worker.cli import main as run_command
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        sys.exit(130)
    run_command()


if __name__ == "__main__":
    main()
