"""Property values as HubSpot stores and compares them: strings on the wire, typed for validation.

`normalize` checks one written value against its property definition and returns the stored string (or
None to clear), or a `PropertyProblem` with HubSpot's error code. Datetimes are accepted as epoch
milliseconds or ISO 8601 and stored as ISO 8601 UTC with milliseconds, as v3 returns them; `sort_key`
turns a stored value into something comparable (epoch-ms for dates, floats for numbers) for search.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sandbox.hubspot.errors import PropertyProblem


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def number(value: float) -> str:
    """A number as HubSpot writes it: no exponent, no trailing ".0" (1234567.0 -> "1234567")."""
    rounded = round(float(value), 6)
    return str(int(rounded)) if rounded.is_integer() else format(rounded, "f").rstrip("0")


def parse_instant(raw: Any) -> datetime | None:
    """Epoch-ms (number or digit string), ISO 8601 datetime or a plain date (midnight UTC)."""
    text = str(raw).strip()
    if text.lstrip("-").isdigit():
        return from_epoch_ms(int(text))
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _number(raw: Any) -> str | None:
    try:
        value = float(str(raw))
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return number(value) if value.is_integer() or "e" in str(raw).lower() else str(raw).strip()


def _enumeration(definition: dict[str, Any], text: str) -> PropertyProblem | None:
    if definition["externalOptions"] and not definition["options"]:
        return None  # owners: values live outside the definition
    allowed = [option["value"] for option in definition["options"]]
    values = text.split(";") if definition["fieldType"] == "checkbox" else [text]
    for value in values:
        if value not in allowed:
            return PropertyProblem(
                definition["name"],
                "INVALID_OPTION",
                f"{value} was not one of the allowed options: [{', '.join(allowed)}]",
            )
    return None


def normalize(definition: dict[str, Any], raw: Any) -> str | PropertyProblem | None:
    """The stored string for `raw`, None to clear the value, or the problem HubSpot would report."""
    name, kind = definition["name"], definition["type"]
    if raw is None or raw == "":
        return None
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if kind == "number":
        number = _number(text)
        return (
            number
            if number is not None
            else PropertyProblem(name, "INVALID_DECIMAL", f"{text} was not a valid number.")
        )
    if kind in ("datetime", "date"):
        instant = parse_instant(text)
        if instant is None:
            return PropertyProblem(name, "INVALID_DATE", f"{text} was not a valid date or datetime.")
        return instant.date().isoformat() if kind == "date" else iso_ms(instant)
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            return PropertyProblem(name, "INVALID_BOOLEAN", f"{text} was not a valid boolean.")
        return text.lower()
    if kind == "enumeration":
        return _enumeration(definition, text) or text
    return text


@lru_cache(maxsize=200_000)  # searches compare the same stored strings page after page
def sort_key(kind: str, value: str | None) -> float | str | None:
    """Comparable form of a stored value: epoch-ms for dates, float for numbers, lower-case text."""
    if value is None:
        return None
    if kind in ("datetime", "date"):
        instant = parse_instant(value)
        return float(epoch_ms(instant)) if instant else None
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return None
    return value.lower()
