"""Structured logging on the standard library: run context via contextvars, a JSON formatter option.

`run_context(run_id=..., connection=...)` binds fields for the duration of a run; a filter copies the bound
fields onto every record emitted in that context (also from library loggers), so each line of a run carries
its run id and connection. `configure_logging(json=True)` emits one JSON object per line (ts, level, logger,
message, the bound fields, `exc` when there is one); otherwise a readable text line with `key=value` pairs.
Every handler also gets the secret-redacting filter.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from worker.observability.redaction import REDACTOR, RedactingFilter, Redactor

_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "commitments_log", default=None
)
CONTEXT_ATTR = "context"


def bind(**fields: Any) -> contextvars.Token[dict[str, Any] | None]:
    return _CONTEXT.set({**current_context(), **fields})


@contextmanager
def run_context(**fields: Any) -> Iterator[None]:
    """Bind `fields` (run_id, connection, mode, trigger...) to every log record inside the block."""
    token = bind(**fields)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_CONTEXT.get() or {})


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        setattr(record, CONTEXT_ATTR, {**getattr(record, CONTEXT_ATTR, {}), **current_context()})
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, CONTEXT_ATTR, {}),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = getattr(record, CONTEXT_ATTR, {})
        if context:
            line += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return line


def make_handler(stream: TextIO, *, json_lines: bool, redactor: Redactor = REDACTOR) -> logging.Handler:
    """A handler with the context and redaction filters (redaction runs last, on the final text)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(redactor))
    return handler


def configure_logging(
    *, json_lines: bool = False, level: int | str = logging.INFO, stream: TextIO | None = None
) -> None:
    """Route the root logger to one handler on stderr (replacing earlier handlers this set up)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_commitments", False):
            root.removeHandler(handler)
    handler = make_handler(stream or sys.stderr, json_lines=json_lines)
    handler._commitments = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every execution at INFO; keep its warnings (misfires) and errors only.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
