"""Salesforce's wire formats for ids and values: 18-character ids, datetimes, dates, write coercion.

Datetimes are stored the way the REST API returns them (`2024-01-01T09:30:00.000+0000`, always UTC), so
stored values compare correctly as strings; SOQL literals are normalised to the same form before
comparison. Dates are `YYYY-MM-DD`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sandbox.salesforce.schema import FieldDef

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@lru_cache(maxsize=65536)
def _suffix_char(block: str) -> str:
    return _SUFFIX[sum(1 << bit for bit, char in enumerate(block) if "A" <= char <= "Z")]


def to_18(id15: str) -> str:
    """Salesforce's case-safe suffix: one character per five, encoding which of them are upper case."""
    return id15 + _suffix_char(id15[0:5]) + _suffix_char(id15[5:10]) + _suffix_char(id15[10:15])


def make_id(prefix: str, counter: int) -> str:
    digits = ""
    while True:
        counter, rem = divmod(counter, 62)
        digits = _BASE62[rem] + digits
        if counter == 0:
            break
    return to_18(prefix + "5g0" + digits.rjust(9, "0"))


def random_id(prefix: str) -> str:
    return to_18(prefix + "".join(secrets.choice(_BASE62) for _ in range(12)))


def sf_datetime(value: datetime) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "+0000"


def parse_datetime(text: str) -> datetime:
    """Parse the forms Salesforce accepts: Z, +00:00, +0000 offsets, optional milliseconds."""
    cleaned = text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    if len(cleaned) >= 5 and cleaned[-5] in "+-" and cleaned[-3] != ":":
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    parsed = datetime.fromisoformat(cleaned)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def normalise_datetime(text: str) -> str:
    return sf_datetime(parse_datetime(text))


class ValueError_(Exception):
    """A value a field cannot hold; carries Salesforce's statusCode."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def coerce(field: FieldDef, value: Any, label: str) -> Any:
    """Turn a JSON value written to `field` into the stored form, or raise ValueError_."""
    if value is None or value == "":
        if value == "" and field.type in ("boolean",):
            raise ValueError_("INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: ''")
        return None
    kind = field.type
    try:
        if kind == "datetime":
            return normalise_datetime(str(value))
        if kind == "date":
            return date.fromisoformat(str(value)[:10]).isoformat()
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false"):
                return str(value).lower() == "true"
            raise ValueError(value)
        if kind in ("double", "currency", "percent"):
            return float(value)  # the REST API answers doubles (2.0) even for Number(3, 0)
        if kind == "int":
            return int(value)
    except (TypeError, ValueError) as exc:
        raise ValueError_(
            "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}"
        ) from exc
    return str(value) if not isinstance(value, str) else value
