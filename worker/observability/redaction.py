"""Keeping secrets out of logs and error text.

One `Redactor` holds the secret values known to the process (every `SecretStr` in the loaded settings is
registered at start) and a few token-shaped patterns (`Bearer xxx`, `Authorization: Basic xxx`,
`access_token=...`, Salesforce session ids, HubSpot private app tokens); `scrub(text)` replaces both with
`***`. `RedactingFilter` applies it to every log record, including the formatted exception, so a token that
leaks into an SDK's exception message never reaches a log line. Airbyte does the same before logging
connector errors.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

MASK = "***"
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words

# (pattern, replacement): the replacement keeps the key or scheme so a log line stays readable
_PATTERNS = (
    # Authorization headers and similar "Bearer <token>"/"OAuth <token>"
    (re.compile(r"(?i)\b(bearer|oauth)\s+[A-Za-z0-9._~+/=!-]{8,}"), rf"\1 {MASK}"),
    # HTTP Basic credentials (Salesforce client credentials send base64 of "consumer key:secret", which no
    # registered secret matches); only after an Authorization key, as "basic" is also an ordinary word. A
    # bytes repr of the headers (b'Authorization': b'Basic ...') counts too.
    (
        re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*(?:b(?=[\"']))?[\"']?basic\s+)[A-Za-z0-9+/]{4,}=*"),
        rf"\1{MASK}",
    ),
    # key=value / "key": "value" forms of token-ish keys, "=" URL-encoded too; a quoted value (a bytes repr's
    # too) is masked up to its closing quote, since a password may hold spaces. A key after a dot is a
    # settings path ("connections.acme.access_token: environment variable X is not set"): what follows is
    # the problem, never the value (settings errors don't quote values), and masking it garbled the message.
    (
        re.compile(
            r"(?i)([\"']?(?<!\.)\b(?:access_token|refresh_token|client_secret|password|session_?id|sid|api_?key|hapikey|"
            r"private_key|security_token|token)[\"']?\s*(?:[:=]|%3d)\s*(?:b(?=[\"']))?)"
            r"(?:(\"|')(?:(?!\2).)+\2|[^\s\"'&,;}<]{4,})"
        ),
        lambda match: f"{match[1]}{match[2] or ''}{MASK}{match[2] or ''}",
    ),
    # HubSpot private app tokens ("pat-na1-" and a UUID) wherever they appear
    (re.compile(r"\bpat-[a-z]{2,4}\d-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b"), MASK),
    # Salesforce session ids: 00D org id prefix + '!' + long opaque part
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{20,}"), MASK),
    # XML session ids (SOAP login responses)
    (re.compile(r"(?i)(<sessionId>)[^<]+(</sessionId>)"), rf"\1{MASK}\2"),
)


class Redactor:
    """Replaces registered secret values and token-like patterns with `***`. Thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH)
            # longest first so a secret containing another is masked whole
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    def add_from(self, model: Any) -> None:
        """Register every SecretStr/SecretBytes found in a pydantic model (nested models, lists, dicts)."""
        self.add(*secret_values(model))

    def clear(self) -> None:
        """Forget every registered secret (settings are being reloaded)."""
        with self._lock:
            self._secrets.clear()
            self._pattern = None

    def scrub(self, text: str) -> str:
        # Patterns first: they keep key names ("access_token=***") readable even when a registered
        # secret happens to be a word that also occurs in a key name.
        for token, replacement in _PATTERNS:
            text = token.sub(replacement, text)
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return text


def secret_values(value: Any) -> list[str]:
    """Every secret's plain value inside `value` (a pydantic model, mapping or sequence)."""
    found: list[str] = []
    if isinstance(value, SecretStr):
        found.append(value.get_secret_value())
    elif isinstance(value, SecretBytes):
        found.append(value.get_secret_value().decode("utf-8", "replace"))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found.extend(secret_values(getattr(value, name)))
    elif isinstance(value, dict):
        for item in value.values():
            found.extend(secret_values(item))
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            found.extend(secret_values(item))
    return found


class RedactingFilter(logging.Filter):
    """Scrubs the message, its arguments and any exception text of each record before it is emitted."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redactor.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            formatter = logging.Formatter()
            record.exc_text = self.redactor.scrub(formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor.scrub(record.exc_text)
        return True


# The process-wide redactor: settings register their secrets here when loaded.
REDACTOR = Redactor()


def scrub(text: str) -> str:
    return REDACTOR.scrub(text)


def safe_error_text(exc: BaseException) -> str:
    """`Type: message` of an exception, scrubbed; what goes into runs.error and the CLI."""
    return scrub(f"{type(exc).__name__}: {exc}")
