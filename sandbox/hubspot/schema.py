"""The portal's object types and their default properties and property groups, as HubSpot defines them.

Object types accept HubSpot's spellings (`deals`, `deal`, `0-3`). Each type's default properties are
declared compactly here and expanded into HubSpot's full Property JSON by `default_property_definitions`;
the store keeps those definitions in a table, so properties created through the API (the plugin's
`commitments_*`) live beside them. Only what HubSpot pre-defines exists at start.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.book import HUBSPOT_STAGES

# canonical name -> (object type id, singular name)
OBJECT_TYPES: dict[str, tuple[str, str]] = {
    "contacts": ("0-1", "contact"),
    "companies": ("0-2", "company"),
    "deals": ("0-3", "deal"),
    "line_items": ("0-8", "line_item"),
    "quotes": ("0-14", "quote"),
    "tasks": ("0-27", "task"),
    "notes": ("0-46", "note"),
    "meetings": ("0-47", "meeting"),
    "calls": ("0-48", "call"),
    "emails": ("0-49", "email"),
}
ENGAGEMENTS = frozenset({"tasks", "notes", "meetings", "calls", "emails"})
_ALIASES = {
    alias: name for name, (type_id, singular) in OBJECT_TYPES.items() for alias in (name, type_id, singular)
}

CALL_CONNECTED = "f240bbac-87c9-4f6e-bf70-924b57d47db7"
CALL_DISPOSITIONS = (
    ("9d9162e7-6cf3-4944-bf63-4dff82258764", "Busy"),
    (CALL_CONNECTED, "Connected"),
    ("a4c4c377-d246-4b32-a13b-75a56a4cd0ff", "Left live message"),
    ("b2cf5968-551e-4856-9783-52b3da59a7d0", "Left voicemail"),
    ("73a0d17f-1163-4015-bdd5-ec830791da20", "No answer"),
    ("17b47fee-58de-441e-a44c-c6300d46f273", "Wrong number"),
)
BUYING_ROLES = (
    "BLOCKER",
    "BUDGET_HOLDER",
    "CHAMPION",
    "DECISION_MAKER",
    "END_USER",
    "EXECUTIVE_SPONSOR",
    "INFLUENCER",
    "LEGAL_AND_COMPLIANCE",
    "OTHER",
)


def canonical_type(name: str) -> str | None:
    return _ALIASES.get(name.lower())


def created_property(object_type: str) -> str:
    return (
        "createdate" if object_type in ("contacts", "companies", "deals", "line_items") else "hs_createdate"
    )


def modified_properties(object_type: str) -> tuple[str, ...]:
    """Contacts carry `lastmodifieddate` (HubSpot's own name for them) as well as hs_lastmodifieddate."""
    return (
        ("lastmodifieddate", "hs_lastmodifieddate") if object_type == "contacts" else ("hs_lastmodifieddate",)
    )


def always_returned(object_type: str) -> tuple[str, ...]:
    """HubSpot adds these to every record it returns, whatever `properties` asked for."""
    return (created_property(object_type), modified_properties(object_type)[0], "hs_object_id")


DEFAULT_RETURNED: dict[str, tuple[str, ...]] = {
    "deals": (
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ),
    "contacts": ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"),
    "companies": ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    "line_items": (
        "amount",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "name",
        "price",
        "quantity",
    ),
    "quotes": (
        "hs_createdate",
        "hs_expiration_date",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_status",
        "hs_title",
    ),
}


def default_returned(object_type: str) -> tuple[str, ...]:
    return DEFAULT_RETURNED.get(object_type, always_returned(object_type))


# Compact specs: name -> (type, fieldType, options or None, flags) with flags among
# "ro" (read-only value, calculated), "ext" (external options: pipeline stages, owners).
Spec = tuple[str, str, tuple[Any, ...] | None, str]
_TEXT: Spec = ("string", "text", None, "")
_AREA: Spec = ("string", "textarea", None, "")
_NUM: Spec = ("number", "number", None, "")
_DT: Spec = ("datetime", "date", None, "")
_RO_DT: Spec = ("datetime", "date", None, "ro")
_RO_NUM: Spec = ("number", "number", None, "ro")
_RO_BOOL: Spec = ("bool", "booleancheckbox", ("true", "false"), "ro")
_BOOL: Spec = ("bool", "booleancheckbox", ("true", "false"), "")
_OWNER: Spec = ("enumeration", "select", None, "ext")


def _enum(*values: str | tuple[str, str], field_type: str = "select") -> Spec:
    return ("enumeration", field_type, tuple(values), "")


def _common(object_type: str) -> dict[str, Spec]:
    specs: dict[str, Spec] = {"hs_object_id": _RO_NUM, created_property(object_type): _DT}
    for name in modified_properties(object_type):
        specs[name] = _RO_DT
    return specs


def _deal_specs() -> dict[str, Spec]:
    stage_ids = tuple((stage_id, label) for stage_id, label, _closed, _p in HUBSPOT_STAGES)
    specs: dict[str, Spec] = {
        "dealname": _TEXT,
        "amount": _NUM,
        "closedate": _DT,
        "description": _AREA,
        "hs_next_step": _AREA,
        "dealstage": ("enumeration", "radio", stage_ids, "ext"),
        "pipeline": ("enumeration", "select", (("default", "Sales Pipeline"),), "ext"),
        "hs_is_closed": _RO_BOOL,
        "hs_is_closed_won": _RO_BOOL,
        "hubspot_owner_id": _OWNER,
        "hs_manual_forecast_category": _enum(
            ("OMIT", "Not forecasted"),
            ("PIPELINE", "Pipeline"),
            ("BEST_CASE", "Best case"),
            ("COMMIT", "Commit"),
            ("CLOSED", "Closed won"),
        ),
        "dealtype": _enum(("newbusiness", "New Business"), ("existingbusiness", "Existing Business")),
        "hs_priority": _enum(("low", "Low"), ("medium", "Medium"), ("high", "High")),
        "hs_deal_stage_probability": _RO_NUM,
        "num_associated_contacts": _RO_NUM,
        "notes_last_updated": _RO_DT,
        "hs_lastmodifieddate": _RO_DT,
    }
    for stage_id, _label in stage_ids:
        for prefix in ("hs_date_entered_", "hs_v2_date_entered_", "hs_date_exited_", "hs_v2_date_exited_"):
            specs[prefix + stage_id] = _RO_DT
    return specs


def _engagement_specs(object_type: str) -> dict[str, Spec]:
    specs: dict[str, Spec] = {"hs_timestamp": _DT, "hubspot_owner_id": _OWNER}
    specs.update(
        {
            "meetings": {
                "hs_meeting_title": _TEXT,
                "hs_meeting_body": _AREA,
                "hs_internal_meeting_notes": _AREA,
                "hs_meeting_start_time": _DT,
                "hs_meeting_end_time": _DT,
                "hs_meeting_location": _TEXT,
                "hs_meeting_outcome": _enum("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"),
            },
            "calls": {
                "hs_call_title": _TEXT,
                "hs_call_body": _AREA,
                "hs_call_duration": _NUM,
                "hs_call_direction": _enum("INBOUND", "OUTBOUND"),
                "hs_call_disposition": _enum(*CALL_DISPOSITIONS),
                "hs_call_status": _enum(
                    "BUSY",
                    "CALLING_CRM_USER",
                    "CANCELED",
                    "COMPLETED",
                    "CONNECTING",
                    "FAILED",
                    "IN_PROGRESS",
                    "MISSED",
                    "NO_ANSWER",
                    "QUEUED",
                    "RINGING",
                ),
            },
            "notes": {"hs_note_body": _AREA},
            "emails": {
                "hs_email_subject": _TEXT,
                "hs_email_text": _AREA,
                "hs_email_html": _AREA,
                "hs_email_direction": _enum("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"),
                "hs_email_status": _enum("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"),
            },
            "tasks": {
                "hs_task_subject": _TEXT,
                "hs_task_body": _AREA,
                "hs_task_completion_date": _RO_DT,
                "hs_task_status": _enum("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
                "hs_task_priority": _enum("NONE", "LOW", "MEDIUM", "HIGH"),
                "hs_task_type": _enum("EMAIL", "CALL", "TODO", "LINKED_IN", "MEETING"),
            },
        }[object_type]
    )
    return specs


def _object_specs(object_type: str) -> dict[str, Spec]:
    if object_type in ENGAGEMENTS:
        return _engagement_specs(object_type)
    builders: dict[str, Callable[[], dict[str, Spec]]] = {
        "deals": _deal_specs,
        "contacts": lambda: {
            "firstname": _TEXT,
            "lastname": _TEXT,
            "email": _TEXT,
            "jobtitle": _TEXT,
            "phone": _TEXT,
            "company": _TEXT,
            "associatedcompanyid": _NUM,
            "hubspot_owner_id": _OWNER,
            "hs_buying_role": _enum(*BUYING_ROLES, field_type="checkbox"),
        },
        "companies": lambda: {"name": _TEXT, "domain": _TEXT, "industry": _TEXT, "hubspot_owner_id": _OWNER},
        "line_items": lambda: {
            "name": _TEXT,
            "quantity": _NUM,
            "price": _NUM,
            "amount": _NUM,
            "hs_product_id": _NUM,
            "description": _AREA,
        },
        "quotes": lambda: {
            "hs_title": _TEXT,
            "hs_expiration_date": _DT,
            "hs_quote_amount": _NUM,
            "hs_esign_enabled": _BOOL,
            "hs_accepted_date": _RO_DT,
            "hs_public_url_key": _TEXT,
            # hs_status is the internal approval state; hs_quote_status the lifecycle the buyer sees.
            "hs_status": _enum("DRAFT", "APPROVAL_NOT_NEEDED", "PENDING_APPROVAL", "APPROVED", "REJECTED"),
            "hs_quote_status": _enum(
                "DRAFT",
                "PENDING_APPROVAL",
                "CHANGES_REQUESTED",
                "PUBLISHING",
                "PUBLISHED",
                "ACCEPTED",
                "EXPIRED",
                "VOID",
                "ARCHIVED",
            ),
            "hs_sign_status": _enum("ESIGN_PENDING", "ESIGN_COMPLETED"),
            "hs_esign_date": _RO_DT,
        },
    }
    return builders[object_type]()


def _label(name: str) -> str:
    return name.removeprefix("hs_").replace("_", " ").capitalize()


def _options(values: tuple[Any, ...] | None) -> list[dict[str, Any]]:
    options = []
    for order, value in enumerate(values or ()):
        raw, label = value if isinstance(value, tuple) else (value, value.replace("_", " ").title())
        if raw in ("true", "false"):
            label = "Yes" if raw == "true" else "No"
        options.append(
            {"label": label, "value": raw, "displayOrder": order, "hidden": False, "description": ""}
        )
    return options


_GROUPS = {
    "deals": ("dealinformation", "Deal information"),
    "contacts": ("contactinformation", "Contact information"),
    "companies": ("companyinformation", "Company information"),
    "line_items": ("lineiteminformation", "Line item information"),
    "quotes": ("quoteinformation", "Quote information"),
}


def group_name(object_type: str) -> str:
    return _GROUPS.get(object_type, ("engagement", "Engagement"))[0]


def property_json(object_type: str, name: str, spec: Spec, created_at: str) -> dict[str, Any]:
    kind, field_type, options, flags = spec
    read_only = "ro" in flags
    return {
        "name": name,
        "label": _label(name),
        "type": kind,
        "fieldType": field_type,
        "description": "",
        "groupName": group_name(object_type),
        "options": _options(options),
        "displayOrder": -1,
        "calculated": read_only,
        "externalOptions": "ext" in flags,
        "hasUniqueValue": False,
        "hidden": False,
        "hubspotDefined": True,
        "formField": not read_only,
        "archived": False,
        "createdAt": created_at,
        "updatedAt": created_at,
        "modificationMetadata": {
            "archivable": False,
            "readOnlyDefinition": True,
            "readOnlyValue": read_only or name == "hs_object_id",
        },
    }


def default_property_definitions(created_at: str) -> dict[str, dict[str, Any]]:
    """`{"<objectType>/<name>": Property JSON}` for every object type's HubSpot-defined properties."""
    table: dict[str, dict[str, Any]] = {}
    for object_type in OBJECT_TYPES:
        specs = {**_common(object_type), **_object_specs(object_type)}
        for name, spec in specs.items():
            table[f"{object_type}/{name}"] = property_json(object_type, name, spec, created_at)
    return table


def default_groups() -> dict[str, dict[str, Any]]:
    """`{"<objectType>/<group>": PropertyGroup JSON}`."""
    groups = {}
    for object_type in OBJECT_TYPES:
        name, label = _GROUPS.get(object_type, ("engagement", "Engagement"))
        groups[f"{object_type}/{name}"] = {
            "name": name,
            "label": label,
            "displayOrder": -1,
            "archived": False,
        }
    return groups
