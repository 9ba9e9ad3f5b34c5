"""The Salesforce connection settings: auth mode, API version, field names, limits and batch sizes.

Auth is a discriminated union on `mode` (STYLE.md): JWT bearer, username + password + security token,
OAuth client credentials, or a session id handed in directly. Every secret is a `SecretStr`, so a repr
or a log line never shows it. `field_names()` is the one place the plugin's Salesforce field names are
derived from the configurable prefix (DESIGN.md, "The CRM contract").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.base import check_header_secret

# A custom field's name is at most 40 characters before "__c" (Salesforce Help 000381913); the longest
# derived name, Commitments_Assessed_At, has 23, which leaves 17 for the prefix.
FIELD_NAME_MAX = 40
MAX_PREFIX = FIELD_NAME_MAX - len("Commitments_Assessed_At")
_DOMAIN_HELP = "'login' (production), 'test' (sandbox org) or a My Domain such as 'acme.my'"


def _host_fragment(value: str) -> str:
    """Accept 'acme.my', 'acme.my.salesforce.com' or 'https://acme.my.salesforce.com/'; keep 'acme.my'.

    simple-salesforce builds `https://{fragment}.salesforce.com`, so a full URL would break the token URL.
    """
    text = value.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
    text = text.removesuffix(".salesforce.com")
    if not text or "/" in text or " " in text:
        raise ValueError(f"expected {_DOMAIN_HELP}, got {value!r}")
    return text


class _Auth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JwtAuth(_Auth):
    """OAuth 2.0 JWT bearer flow of a connected app (the recommended mode: it re-logs in unattended).

    `domain` is the audience: 'login' for production, 'test' for a sandbox org. `my_domain` (e.g.
    'acme.my') sends the token request to the org's My Domain instead of login/test.salesforce.com.
    """

    mode: Literal["jwt"] = "jwt"
    username: str
    consumer_key: SecretStr  # the connected app's client id: with the key it logs in, so kept out of reprs
    private_key: SecretStr | None = Field(default=None, description="The PEM text of the signing key.")
    private_key_file: str | None = Field(default=None, description="Path to the PEM file instead.")
    domain: Literal["login", "test"] = "login"
    my_domain: str | None = None

    @field_validator("my_domain")
    @classmethod
    def _fragment(cls, value: str | None) -> str | None:
        return None if value is None else _host_fragment(value)

    @model_validator(mode="after")
    def _one_key(self) -> JwtAuth:
        if (self.private_key is None) == (self.private_key_file is None):
            raise ValueError("give exactly one of private_key (PEM text) or private_key_file")
        return self


class PasswordAuth(_Auth):
    """SOAP username + password + security token login (the token may be empty for trusted IP ranges)."""

    mode: Literal["password"] = "password"
    username: str
    password: SecretStr
    security_token: SecretStr = SecretStr("")
    domain: str = "login"

    @field_validator("domain")
    @classmethod
    def _fragment(cls, value: str) -> str:
        return _host_fragment(value)


class ClientCredentialsAuth(_Auth):
    """OAuth client credentials flow; Salesforce only serves it on the org's My Domain."""

    mode: Literal["client_credentials"] = "client_credentials"
    consumer_key: SecretStr
    consumer_secret: SecretStr
    domain: str = Field(description="The org's My Domain, e.g. 'acme.my'.")

    @field_validator("domain")
    @classmethod
    def _my_domain(cls, value: str) -> str:
        fragment = _host_fragment(value)
        if fragment in ("login", "test"):
            raise ValueError("client credentials need the org's My Domain (e.g. 'acme.my'), not login/test")
        return fragment


class SessionAuth(_Auth):
    """An access token (session id) and instance URL obtained elsewhere; cannot re-login when it expires."""

    mode: Literal["session"] = "session"
    session_id: SecretStr
    instance_url: AnyHttpUrl

    @field_validator("session_id")
    @classmethod
    def _one_line(cls, value: SecretStr) -> SecretStr:
        check_header_secret(value.get_secret_value(), "session id")
        return value


SalesforceAuth = Annotated[
    JwtAuth | PasswordAuth | ClientCredentialsAuth | SessionAuth, Field(discriminator="mode")
]


@dataclass(frozen=True)
class FieldNames:
    """The Salesforce API names of the plugin's fields for one prefix."""

    secured: str
    missing: str
    next: str
    score: str
    stage_gap: str
    evidence: str
    assessed_at: str
    confirmed: str
    task_key: str
    permission_set: str
    user_permission_set: str  # for reps and managers: read the fields, tick the confirmations

    def owned(self) -> dict[str, str]:
        """Owned (written) field name by OwnedField value."""
        return {
            "secured": self.secured,
            "missing": self.missing,
            "next": self.next,
            "score": self.score,
            "stage_gap": self.stage_gap,
            "evidence": self.evidence,
            "assessed_at": self.assessed_at,
        }


class SalesforceConfig(BaseModel):
    """One Salesforce connection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    crm: Literal["salesforce"] = "salesforce"
    auth: SalesforceAuth
    api_version: str = "61.0"
    field_prefix: str = Field(default="", description="'Acme_' gives Acme_Commitments_Secured__c.")
    api_base_url: AnyHttpUrl | None = Field(
        default=None,
        description="Send every Salesforce call to this base URL instead of *.salesforce.com: "
        "the local sandbox or a recording proxy.",
    )
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=120.0, gt=0)
    # Below 1,000 a Bulk job's five calls and its wait cost more than composite calls of 200 do; with the
    # default chunk of 200 it stays unused, with a chunk of 2,000 a large first sync writes through it.
    bulk_threshold: int = Field(
        default=1000, ge=1, description="Use Bulk API 2.0 when a chunk has more updates than this."
    )
    bulk_wait_seconds: int = Field(default=5, ge=0, description="First poll delay of a Bulk API 2.0 job.")
    api_reserve_fraction: float = Field(default=0.2, ge=0, le=1)
    lookback_seconds: int = Field(default=600, ge=0)
    query_batch_size: int = Field(
        default=2000, ge=200, le=2000,
        description="Sforce-Query-Options batchSize; children count, Salesforce may return fewer.",
    )
    chunk_size: int = Field(default=200, ge=1, le=2000, description="Deals per yielded chunk.")
    # A query travels in the URL, and URI + headers must stay under 16,384 bytes (Salesforce Help 000386264,
    # "Maximum number of rows returned by SOQL queries over the REST API"; longer is 414 URI Too Long).
    # 200 ids with the full subquery select, or 200 task keys, take ~6.7 kB / ~9.6 kB encoded; 400 do not fit.
    ids_per_query: int = Field(default=200, ge=1, le=200, description="Ids per `Id IN (...)` (URL length).")
    write_batch_size: int = Field(default=200, ge=1, le=200, description="Records per composite call.")
    max_attempts: int = Field(default=5, ge=1)
    backoff_seconds: float = Field(default=0.5, ge=0, description="Base of the exponential backoff.")
    max_backoff_seconds: float = Field(default=30.0, ge=0, description="Cap on one wait, Retry-After too.")
    integration_user: str | None = Field(
        default=None, description="Username that gets the permission set (default: the logged-in user)."
    )
    list_views_per_commitment: bool = False
    task_priority: str = "Normal"

    @field_validator("api_version", mode="before")
    @classmethod
    def _number_as_text(cls, value: object) -> object:
        """YAML reads an unquoted `api_version: 61.0` as a float (and `61` as an int): the same version."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        text = value.removeprefix("v")
        major, _, minor = text.partition(".")
        if not (major.isdigit() and (not minor or minor.isdigit())):
            raise ValueError(f"expected an API version such as '61.0', got {value!r}")
        return text if minor else f"{text}.0"

    @field_validator("field_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if value and not (value[0].isalpha() and value.replace("_", "").isalnum() and "__" not in value):
            raise ValueError(f"field_prefix must start with a letter; letters, digits, '_' only: {value!r}")
        if len(value) > MAX_PREFIX:
            raise ValueError(
                f"field_prefix may have at most {MAX_PREFIX} characters (Salesforce field names are at most "
                f"{FIELD_NAME_MAX} characters before __c): {value!r}"
            )
        return value

    def field_names(self) -> FieldNames:
        p = self.field_prefix
        return FieldNames(
            secured=f"{p}Commitments_Secured__c",
            missing=f"{p}Commitments_Missing__c",
            next=f"{p}Next_Commitment__c",
            score=f"{p}Commitment_Score__c",
            stage_gap=f"{p}Commitment_Stage_Gap__c",
            evidence=f"{p}Commitment_Evidence__c",
            assessed_at=f"{p}Commitments_Assessed_At__c",
            confirmed=f"{p}Commitments_Confirmed__c",
            task_key=f"{p}Commitment_Key__c",
            permission_set=f"{p}Commitments_Plugin",
            user_permission_set=f"{p}Commitments_User",
        )
