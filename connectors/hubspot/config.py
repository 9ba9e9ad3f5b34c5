"""HubSpot connection settings: credentials, where to send calls, and the names the plugin owns.

`HubSpotConfig` is one member of the worker's union of connection configs (discriminated by `crm`). A
private app access token is the usual credential; an OAuth app can give a refresh token instead, which the
client exchanges for short-lived access tokens. Secrets are `SecretStr` and never appear in reprs, logs or
error text. `PropertyNames` derives the deal property names of DESIGN.md's contract from the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.base import check_header_secret
from core.models import OwnedField

DEFAULT_BASE_URL = "https://api.hubapi.com"
# HubSpot's built-in "Connected" call outcome (portals may add their own: connected_call_dispositions).
CONNECTED_DISPOSITION = "f240bbac-87c9-4f6e-bf70-924b57d47db7"

# What a private app (or OAuth app) needs, named as HubSpot names them in the app's "Scopes" tab.
REQUIRED_SCOPES: tuple[str, ...] = (
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
    "crm.objects.contacts.read",
    # HubSpot gates meetings, calls, notes and tasks (read and create) behind the contacts object scopes.
    "crm.objects.contacts.write",
    "crm.objects.line_items.read",
    "crm.objects.quotes.read",
    # Without it email engagements come back with their subject and body redacted.
    "sales-email-read",
)


class HubSpotOAuth(BaseModel):
    """An OAuth app's refresh-token grant, exchanged for access tokens at POST /oauth/v1/token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    refresh_token: SecretStr


class HubSpotConfig(BaseModel):
    """One HubSpot portal connection. Construction validates only; nothing here does network I/O."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    crm: Literal["hubspot"] = "hubspot"
    access_token: SecretStr | None = Field(default=None, description="Private app access token.")
    oauth: HubSpotOAuth | None = Field(default=None, description="OAuth refresh-token flow, not a token.")
    base_url: str = Field(
        default=DEFAULT_BASE_URL, description="API base URL; the local sandbox URL for demos and tests."
    )
    property_prefix: str = Field(default="", pattern=r"^[a-z0-9_]*$", description="Owned properties' prefix.")
    group_name: str = Field(default="commitments", pattern=r"^[a-z0-9_]+$")
    group_label: str = "Commitments"
    pipelines: tuple[str, ...] = Field(default=(), description="Pipeline ids to include; empty means all.")
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    lookback_seconds: int = Field(default=600, ge=0, description="Search index lag allowance.")
    api_reserve_fraction: float = Field(
        default=0.2, ge=0, le=1,
        description="Stop a run before the last part of the portal's daily API limit, which private apps "
        "share with every other integration (known from HubSpot's daily rate-limit headers).",
    )
    batch_size: int = Field(default=100, ge=1, le=100, description="Objects per batch read/update/create.")
    association_batch_size: int = Field(default=1000, ge=1, le=1000, description="Ids per association read.")
    search_page_size: int = Field(default=200, ge=1, le=200)
    search_requests_per_second: float = Field(default=4.0, gt=0)
    chunk_size: int = Field(default=500, ge=1, le=1000, description="Deals per chunk yielded by read_deals.")
    max_attempts: int = Field(default=5, ge=1, description="Tries per call on 429/5xx/drops.")
    max_retry_wait_seconds: float = Field(default=60.0, ge=0)
    connected_call_dispositions: tuple[str, ...] = Field(
        default=(CONNECTED_DISPOSITION,),
        description="hs_call_disposition GUIDs meaning the buyer was reached ('Connected' + custom).",
    )
    also_watch: tuple[Literal["quotes", "buying_roles"], ...] = Field(
        default=(),
        description="Records incremental runs also search for changes, one search a run each: 'quotes' (a "
        "quote published or accepted) and 'buying_roles' (a contact's hs_buying_role set or changed). "
        "Without them those changes reach their deals at the nightly full run.",
    )

    @field_validator("access_token")
    @classmethod
    def _one_line(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_header_secret(value.get_secret_value(), "access token")
        return value

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_credential(self) -> HubSpotConfig:
        if (self.access_token is None) == (self.oauth is None):
            raise ValueError("give exactly one of access_token (private app) or oauth (refresh token)")
        return self

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def names(self) -> PropertyNames:
        return PropertyNames.with_prefix(self.property_prefix)


@dataclass(frozen=True)
class PropertyNames:
    """The deal (and task) property names the plugin owns or reads, after the configured prefix."""

    secured: str
    missing: str
    next: str
    score: str
    stage_gap: str
    evidence: str
    assessed_at: str
    confirmed: str

    @classmethod
    def with_prefix(cls, prefix: str) -> PropertyNames:
        return cls(
            secured=f"{prefix}commitments_secured",
            missing=f"{prefix}commitments_missing",
            next=f"{prefix}next_commitment",
            score=f"{prefix}commitment_score",
            stage_gap=f"{prefix}commitment_stage_gap",
            evidence=f"{prefix}commitment_evidence",
            assessed_at=f"{prefix}commitments_assessed_at",
            confirmed=f"{prefix}commitments_confirmed",
        )

    def owned(self, field: OwnedField) -> str:
        return str(getattr(self, field.value))

    @property
    def all_owned(self) -> tuple[str, ...]:
        return tuple(self.owned(f) for f in OwnedField)
