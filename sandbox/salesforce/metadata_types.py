"""Custom fields and field-level security, derived from components saved through the Metadata API.

Components are stored as plain dicts (the XML the client sent, as nested dicts; booleans stay the strings
"true"/"false" as on the wire) in `tables["_Metadata"]` under "Type/fullName". A CustomField becomes a
`FieldDef` on its object. Like a real org, a field created through the Metadata API is invisible to the
API user (absent from describe, INVALID_FIELD in SOQL and writes) until a permission set that grants it
(fieldPermissions readable/editable) is assigned to that user with a PermissionSetAssignment row;
readable-but-not-editable fields reject writes with INVALID_FIELD_FOR_INSERT_UPDATE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.salesforce.schema import FieldDef, ObjectDef

if TYPE_CHECKING:
    from sandbox.salesforce.store import SalesforceStore

# Metadata FieldType -> (describe type, default length)
FIELD_TYPES: dict[str, tuple[str, int]] = {
    "MultiselectPicklist": ("multipicklist", 4099),
    "Picklist": ("picklist", 255),
    "Number": ("double", 0),
    "Checkbox": ("boolean", 0),
    "LongTextArea": ("textarea", 32768),
    "TextArea": ("textarea", 255),
    "Text": ("string", 255),
    "DateTime": ("datetime", 0),
    "Date": ("date", 0),
    "Percent": ("percent", 0),
    "Currency": ("currency", 0),
    "Email": ("email", 80),
    "Url": ("url", 255),
}


ACTIVITY_OBJECTS = ("Task", "Event")


# What the Metadata API insists on per field type ("Must specify 'length' for a CustomField of type Text").
REQUIRED_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "Text": ("length",),
    "LongTextArea": ("length", "visibleLines"),
    "Number": ("precision",),
    "Percent": ("precision",),
    "Currency": ("precision",),
    "Checkbox": ("defaultValue",),
    "Picklist": ("valueSet",),
    "MultiselectPicklist": ("valueSet", "visibleLines"),
}
FIELD_NAME_MAX = 40  # characters of a custom field's name before "__c"
LENGTH_RANGES = {"Text": (1, 255), "LongTextArea": (256, 131072)}


def custom_field_problem(component: dict[str, Any]) -> str | None:
    """Why the Metadata API would refuse this CustomField, or None."""
    kind = str(component.get("type"))
    name = str(component.get("fullName") or "").partition(".")[2].removesuffix("__c")
    if len(name) > FIELD_NAME_MAX:
        return f"Field name too long (at most {FIELD_NAME_MAX} characters before __c): {name}__c"
    if not component.get("label"):
        return "Must specify 'label' for a CustomField"
    for attribute in REQUIRED_ATTRIBUTES.get(kind, ()):
        if component.get(attribute) in (None, ""):
            return f"Must specify '{attribute}' for a CustomField of type {kind}"
    if kind in LENGTH_RANGES:
        low, high = LENGTH_RANGES[kind]
        if not low <= int(component["length"]) <= high:
            return f"Length must be between {low} and {high} for a CustomField of type {kind}"
    return None


def permission_set_problem(component: dict[str, Any]) -> str | None:
    """Field permissions name a field as SobjectType.Field; activity custom fields are defined on Activity
    but secured as Task.X__c and Event.X__c (Activity is no SobjectType of FieldPermissions)."""
    for perm in component.get("fieldPermissions") or []:
        field = str(perm.get("field") or "")
        if field.startswith("Activity."):
            return f"In field: field - no CustomField named {field} found"
    return None


def list_view_problem(store: SalesforceStore, component: dict[str, Any]) -> str | None:
    """Why a ListView would not deploy: an unknown object, or a column/filter naming a field that does not
    exist (standard columns use list-view tokens such as OPPORTUNITY.NAME and are accepted as they are)."""
    object_name = str(component["fullName"]).partition(".")[0]
    obj = store.objects().get(object_name)
    if obj is None:
        return f"In field: fullName - no CustomObject named {object_name} found"
    names = [*(component.get("columns") or []), *(f.get("field") for f in component.get("filters") or [])]
    for name in names:
        if name and "." not in str(name) and name not in obj.fields:
            return f"Invalid field {name} for {object_name} in list view {component['fullName']}"
    return None


def is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def component_key(metadata_type: str, full_name: str) -> str:
    return f"{metadata_type}/{full_name}"


def components(store: SalesforceStore, metadata_type: str) -> list[dict[str, Any]]:
    prefix = metadata_type + "/"
    return [c for key, c in store.tables["_Metadata"].items() if key.startswith(prefix)]


def picklist_values(component: dict[str, Any]) -> tuple[tuple[str, ...] | None, bool]:
    value_set = component.get("valueSet") or {}
    definition = value_set.get("valueSetDefinition") or {}
    values = definition.get("value") or []
    if not values and component.get("type") not in ("Picklist", "MultiselectPicklist"):
        return None, False
    return tuple(v.get("fullName", "") for v in values), is_true(value_set.get("restricted"))


def field_def(component: dict[str, Any], editable: bool) -> FieldDef:
    kind, default_length = FIELD_TYPES.get(str(component.get("type")), ("string", 255))
    values, restricted = picklist_values(component)
    return FieldDef(
        name=component["fullName"].split(".", 1)[1],
        type=kind,
        label=component.get("label") or "",
        length=int(component.get("length") or default_length),
        picklist=values,
        restricted=restricted,
        updateable=editable,
        createable=editable,
        nillable=kind != "boolean",
        custom=True,
        precision=int(component.get("precision") or 0),
        scale=int(component.get("scale") or 0),
        external_id=is_true(component.get("externalId")),
    )


def field_permissions(store: SalesforceStore, user_id: str) -> dict[str, bool]:
    """'Object.Field__c' -> editable, for each field a permission set assigned to the user makes readable."""
    assigned = {
        row["PermissionSetId"]
        for row in store.table("PermissionSetAssignment").values()
        if row["AssigneeId"] == user_id and not row["IsDeleted"]
    }
    names = {
        store.table("PermissionSet")[pid]["Name"] for pid in assigned if pid in store.table("PermissionSet")
    }
    granted: dict[str, bool] = {}
    for name in names:
        permission_set = store.tables["_Metadata"].get(component_key("PermissionSet", name)) or {}
        for perm in permission_set.get("fieldPermissions") or []:
            if is_true(perm.get("readable")) or is_true(perm.get("editable")):
                field = str(perm.get("field"))
                granted[field] = granted.get(field, False) or is_true(perm.get("editable"))
    return granted


def sync_field_permissions(store: SalesforceStore, permission_set_id: str, component: dict[str, Any]) -> None:
    """The permission set's `FieldPermissions` rows, as a real org keeps them for SOQL ("who can read this
    field"): one per field it grants, edit implying read; rows for fields it no longer grants go."""
    table = store.table("FieldPermissions")
    mine = (r for r in table.values() if r["ParentId"] == permission_set_id and not r["IsDeleted"])
    rows = {r["Field"]: r for r in mine}
    for perm in component.get("fieldPermissions") or []:
        field = str(perm.get("field") or "")
        edit = is_true(perm.get("editable"))
        values = {"PermissionsRead": edit or is_true(perm.get("readable")), "PermissionsEdit": edit}
        row = rows.pop(field, None) if values["PermissionsRead"] else None
        if row is not None:
            row.update(values, SystemModstamp=store.now())
        elif values["PermissionsRead"]:
            where = {"ParentId": permission_set_id, "SobjectType": field.partition(".")[0], "Field": field}
            store.insert("FieldPermissions", where | values)
    for row in rows.values():  # granted no more (or no longer readable): a real org deletes the row
        store.soft_delete(row)


def rebuild_field_permissions(store: SalesforceStore) -> None:
    for row in list(store.tables.get("PermissionSet", {}).values()):
        component = store.tables["_Metadata"].get(component_key("PermissionSet", row["Name"]))
        if component is not None:
            sync_field_permissions(store, row["Id"], component)


def with_custom_fields(
    objects: dict[str, ObjectDef], store: SalesforceStore, user_id: str | None
) -> dict[str, ObjectDef]:
    fields = components(store, "CustomField")
    if not fields:
        return objects
    granted = field_permissions(store, user_id) if user_id else None
    extra: dict[str, list[FieldDef]] = {}
    for component in fields:
        object_name, _, field_name = component["fullName"].partition(".")
        # Task and Event custom fields are defined once, on Activity, as in a real org; their field
        # permissions name Task.X__c / Event.X__c, each granting the field on that object only.
        for target in ACTIVITY_OBJECTS if object_name == "Activity" else (object_name,):
            if target not in objects:
                continue
            name = f"{target}.{field_name}"
            if granted is not None and name not in granted:
                continue
            editable = granted is None or granted[name]
            extra.setdefault(target, []).append(field_def(component, editable))
    return {name: obj.with_fields(extra[name]) if name in extra else obj for name, obj in objects.items()}
