"""HubSpot's error bodies, so the real client sees the same JSON it would get from api.hubapi.com.

A handler raises `HubSpotError` and the app turns it into a response. Whole-request errors use
HubSpot's `Error` shape (`status`, `message`, `correlationId`, `category`, ...); per-record errors in
batch responses use its `StandardError` shape (`status`, `category`, `message`, `context`, `errors`,
`links`). Property validation problems are embedded in the message as HubSpot does
("Property values were not valid: [{...}]").
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

PORTAL_ID = 24_681_357


def correlation_id() -> str:
    return str(uuid.uuid4())


class HubSpotError(Exception):
    """A whole-request error; `body()` is what HubSpot would answer."""

    def __init__(self, status: int, message: str, category: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.category = category
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id(),
            "category": self.category,
            **self.extra,
        }


def validation(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(400, message, "VALIDATION_ERROR", **extra)


def not_found(message: str = "resource not found") -> HubSpotError:
    return HubSpotError(404, message, "OBJECT_NOT_FOUND")


@dataclass(frozen=True)
class PropertyProblem:
    """One invalid property value, as HubSpot lists it inside "Property values were not valid"."""

    name: str
    error: str  # PROPERTY_DOESNT_EXIST, INVALID_OPTION, READ_ONLY_VALUE, INVALID_DATE, ...
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "isValid": False,
            "message": self.message,
            "error": self.error,
            "name": self.name,
            "localizedErrorMessage": self.message,
            "portalId": PORTAL_ID,
        }


def property_values_message(problems: list[PropertyProblem]) -> str:
    return "Property values were not valid: " + json.dumps([p.as_json() for p in problems])


def invalid_properties(problems: list[PropertyProblem]) -> HubSpotError:
    return validation(property_values_message(problems))


@dataclass
class RecordError:
    """A per-record error inside a 207 batch response (HubSpot's StandardError)."""

    category: str
    message: str
    context: dict[str, list[str]] = field(default_factory=dict)
    sub_category: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context,
            "errors": self.errors,
            "links": {},
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        return body


def authentication_missing() -> HubSpotError:
    return HubSpotError(
        401,
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
        "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        "INVALID_AUTHENTICATION",
    )


def authentication_expired() -> HubSpotError:
    return HubSpotError(
        401,
        "The OAuth token used to make this call expired 0 second(s) ago.",
        "EXPIRED_AUTHENTICATION",
    )
