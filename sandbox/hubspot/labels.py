"""The association type catalogue: HubSpot-defined type ids and the portal's own (user-defined) labels.

Type ids are directional: deal->contact is 3, contact->deal is 4. Each entry records its inverse so an
association is stored in both directions. HubSpot-defined ids are the documented ones (task->deal 216,
meeting->deal 212, ...); user-defined deal<->contact labels ("Decision Maker", "Economic Buyer", ...) get
portal-specific ids from 101 up, like a real portal's, so a connector must look them up through
`GET /crm/v4/associations/{from}/{to}/labels` rather than hard-code them.
"""

from __future__ import annotations

from typing import Any

HUBSPOT_DEFINED = "HUBSPOT_DEFINED"
USER_DEFINED = "USER_DEFINED"

# (from, to, type id, inverse type id, label or None)
_DEFINED: tuple[tuple[str, str, int, int, str | None], ...] = (
    ("contacts", "companies", 279, 280, None),
    ("contacts", "companies", 1, 2, "Primary"),
    ("deals", "contacts", 3, 4, None),
    ("deals", "companies", 341, 342, None),
    ("deals", "companies", 5, 6, "Primary"),
    ("deals", "line_items", 19, 20, None),
    ("deals", "quotes", 63, 64, None),
    ("quotes", "line_items", 67, 68, None),
    ("quotes", "contacts", 69, 70, None),
    ("quotes", "companies", 71, 72, None),
    ("companies", "calls", 181, 182, None),
    ("companies", "emails", 185, 186, None),
    ("companies", "meetings", 187, 188, None),
    ("companies", "notes", 189, 190, None),
    ("companies", "tasks", 191, 192, None),
    ("contacts", "calls", 193, 194, None),
    ("contacts", "emails", 197, 198, None),
    ("contacts", "meetings", 199, 200, None),
    ("contacts", "notes", 201, 202, None),
    ("contacts", "tasks", 203, 204, None),
    ("deals", "calls", 205, 206, None),
    ("deals", "emails", 209, 210, None),
    ("deals", "meetings", 211, 212, None),
    ("deals", "notes", 213, 214, None),
    ("deals", "tasks", 215, 216, None),
)

DEAL_CONTACT_LABELS = (
    "Decision Maker",
    "Economic Buyer",
    "Champion",
    "Evaluator",
    "Influencer",
    "Executive Sponsor",
    "Business User",
    "Technical Buyer",
    "Other",
)
FIRST_USER_TYPE_ID = 101


def _entry(
    from_type: str, to_type: str, type_id: int, inverse: int, label: str | None, category: str
) -> dict[str, Any]:
    return {
        "fromObjectType": from_type,
        "toObjectType": to_type,
        "typeId": type_id,
        "inverseTypeId": inverse,
        "label": label,
        "category": category,
    }


def pair(
    from_type: str, to_type: str, type_id: int, inverse: int, label: str | None, category: str
) -> dict[str, dict[str, Any]]:
    """Both directions of one association type, keyed by type id (as strings, for JSON)."""
    return {
        str(type_id): _entry(from_type, to_type, type_id, inverse, label, category),
        str(inverse): _entry(to_type, from_type, inverse, type_id, label, category),
    }


def default_labels() -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    for from_type, to_type, type_id, inverse, label in _DEFINED:
        table.update(pair(from_type, to_type, type_id, inverse, label, HUBSPOT_DEFINED))
    next_id = FIRST_USER_TYPE_ID
    for label in DEAL_CONTACT_LABELS:
        table.update(pair("deals", "contacts", next_id, next_id + 1, label, USER_DEFINED))
        next_id += 2
    return table


def spec_json(entry: dict[str, Any]) -> dict[str, Any]:
    """AssociationSpecWithLabel as the labels API and v4 reads show it."""
    return {"category": entry["category"], "typeId": entry["typeId"], "label": entry["label"]}
