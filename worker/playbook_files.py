"""Reading playbook YAML files: the packaged default or an admin's copy.

Core validates an already-parsed mapping (`core.playbook.parse_playbook`); this module owns the file I/O
around it. Every problem (file unreadable, YAML syntax, invalid content) ends as one
`core.playbook.PlaybookError` naming the file and, where there is one, the line or key path and what was
expected, so the command line shows it without a traceback.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from core.playbook import Playbook, PlaybookError, parse_playbook
from worker.yaml_files import load_yaml

DEFAULT_PLAYBOOK_NAME = "playbook.yaml"


def default_playbook_text() -> tuple[str, str]:
    """The packaged default playbook's text and a name for it (works from a wheel, not just a checkout)."""
    resource = resources.files("config") / DEFAULT_PLAYBOOK_NAME
    try:
        return resource.read_text(encoding="utf-8"), f"config/{DEFAULT_PLAYBOOK_NAME} (packaged default)"
    except OSError as exc:
        raise PlaybookError(f"cannot read the packaged default playbook: {exc.strerror or exc}") from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlaybookError(f"{path}: no such playbook file") from None
    except IsADirectoryError:
        raise PlaybookError(f"{path}: is a directory, expected a playbook YAML file") from None
    except UnicodeDecodeError as exc:
        message = f"{path}: not UTF-8 text (byte {exc.start}); save the playbook as UTF-8"
        raise PlaybookError(message) from None
    except OSError as exc:
        raise PlaybookError(f"{path}: cannot read the playbook: {exc.strerror or exc}") from None


def parse_playbook_text(text: str, source: str) -> Playbook:
    """Parse YAML text and validate it; `source` names the file in every error."""
    try:
        data = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        problem = exc.problem or exc.context or "invalid YAML"
        raise PlaybookError(f"{source}: YAML syntax error at {where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise PlaybookError(f"{source}: YAML syntax error: {exc}") from None
    if data is None:
        raise PlaybookError(f"{source}: empty playbook; expected a mapping with version, commitments...")
    return parse_playbook(data, source)


def load_playbook(path: Path | None = None) -> Playbook:
    """Load and validate a playbook; None loads the default shipped in the `config` package."""
    if path is None:
        text, source = default_playbook_text()
    else:
        text, source = _read(path), str(path)
    return parse_playbook_text(text, source)
