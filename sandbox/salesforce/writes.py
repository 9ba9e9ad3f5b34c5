"""Record writes with Salesforce's validation and side effects, shared by REST, composite and Bulk 2.0.

`create` and `update` validate a whole record first (unknown or invisible field -> INVALID_FIELD,
read-only field -> INVALID_FIELD_FOR_INSERT_UPDATE, bad restricted picklist value ->
INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, text over its length in UTF-8 bytes -> STRING_TOO_LONG, wrong type
-> INVALID_TYPE_ON_FIELD_IN_RECORD, missing required field -> REQUIRED_FIELD_MISSING, an OwnerId of a
deactivated user -> INACTIVE_OWNER_OR_USER, ids in `store.fail_record_ids` -> `store.fail_status_code`)
and return errors instead of raising, so callers can report them per record. Side effects follow the
platform: LastModifiedDate/SystemModstamp on every write, Opportunity stage fields and an
OpportunityHistory row on a stage change, Task IsClosed/CompletedDateTime from Status, a task's people as
TaskRelation rows counted in its WhoCount (Shared Activities; a deleted one too), compound Names, line item
totals.
"""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.schema import CLOSED_TASK_STATUSES, FieldDef, ObjectDef
from sandbox.salesforce.store import Record, RecordError, SalesforceStore
from sandbox.salesforce.values import ValueError_, coerce

IGNORED_KEYS = frozenset({"attributes"})


def _label(field: FieldDef) -> str:
    return field.label or field.name


def _picklist_order(field: FieldDef, value: str) -> str:
    """Salesforce keeps multi-select values once each, in picklist order, whatever order was written."""
    parts = list(dict.fromkeys(p for p in value.split(";") if p))
    order = {v: i for i, v in enumerate(field.picklist or ())}
    return ";".join(sorted(parts, key=lambda p: order.get(p, len(order))))


def _check_value(field: FieldDef, value: Any) -> tuple[Any, RecordError | None]:
    try:
        stored = coerce(field, value, _label(field))
    except ValueError_ as exc:
        return None, RecordError(exc.code, exc.message, (field.name,))
    if stored is None:
        if not field.nillable and field.type != "boolean":
            return None, RecordError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{field.name}]", (field.name,)
            )
        return stored, None
    if field.picklist is not None and field.restricted:
        parts = stored.split(";") if field.type == "multipicklist" else [stored]
        bad = [p for p in parts if p not in field.picklist]
        if bad:
            return None, RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{_label(field)}: bad value for restricted picklist field: {bad[0]}",
                (field.name,),
            )
    if field.type == "multipicklist":
        stored = _picklist_order(field, stored)
    if field.is_text and field.length and len(str(stored).encode()) > field.length:
        return None, RecordError(
            "STRING_TOO_LONG",
            f"{_label(field)}: data value too large: {str(stored)[:40]!r}... (max length={field.length})",
            (field.name,),
        )
    return stored, None


def validate(obj: ObjectDef, data: Record, *, creating: bool) -> tuple[Record, list[RecordError]]:
    """Coerce `data` for `obj`; return the stored values and the record's errors (empty when valid)."""
    values: Record = {}
    for name, value in data.items():
        if name in IGNORED_KEYS or name == "Id" or (name == "id" and not creating):
            continue
        field = obj.fields.get(name)
        if field is None:
            return {}, [
                RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
            ]
        if not (field.createable if creating else field.updateable):
            return {}, [
                RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security settings "
                    "of this field and verify that it is read/write for your profile or "
                    "permission set.",
                    (name,),
                )
            ]
        stored, error = _check_value(field, value)
        if error:
            return {}, [error]
        values[name] = stored
    if creating:
        missing = [
            f.name
            for f in obj.fields.values()
            if f.createable and not f.nillable and f.type != "boolean" and values.get(f.name) is None
        ]
        if missing:
            return {}, [
                RecordError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    tuple(missing),
                )
            ]
    return values, []


def _locked(store: SalesforceStore, record_id: str) -> RecordError | None:
    if record_id in store.fail_record_ids:
        return RecordError(
            store.fail_status_code,
            f"unable to obtain exclusive access to this record or 1 records: {record_id}",
        )
    return None


def create(
    store: SalesforceStore, object_type: str, data: Record, user_id: str, *, dry_run: bool = False
) -> tuple[str | None, list[RecordError]]:
    """Validate and insert; with `dry_run` only validate (allOrNone's first pass)."""
    obj = store.objects(user_id).get(object_type)
    if obj is None or not obj.createable:
        return None, [RecordError("INVALID_TYPE", f"sObject type '{object_type}' is not supported.")]
    values, errors = validate(obj, data, creating=True)
    if errors:
        return None, errors
    reference_error = _check_references(store, obj, values) or _duplicate_assignment(
        store, object_type, values
    )
    if reference_error or dry_run:
        return None, [reference_error] if reference_error else []
    with store.lock:
        _derive(store, object_type, values, None)
        if "OwnerId" in obj.fields and not values.get("OwnerId"):
            values["OwnerId"] = user_id
        record = store.insert(object_type, values, user_id=user_id)
        _after_write(store, object_type, record, {})
    return record["Id"], []


def update(
    store: SalesforceStore,
    object_type: str,
    record_id: str,
    data: Record,
    user_id: str,
    *,
    dry_run: bool = False,
) -> list[RecordError]:
    """Validate and apply; with `dry_run` only validate."""
    obj = store.objects(user_id).get(object_type)
    record = store.get(record_id)
    if obj is None or record is None or store.type_of(record_id) != object_type or record["IsDeleted"]:
        return [
            RecordError(
                "ENTITY_IS_DELETED" if record and record["IsDeleted"] else "INVALID_CROSS_REFERENCE_KEY",
                "entity is deleted"
                if record and record["IsDeleted"]
                else f"invalid cross reference id: {record_id}",
            )
        ]
    if not obj.updateable:
        return [
            RecordError("INVALID_TYPE_FOR_OPERATION", f"entity type {object_type} does not support update")
        ]
    values, errors = validate(obj, data, creating=False)
    if errors:
        return errors
    failure = _locked(store, record_id) or _check_references(store, obj, values)
    if failure or dry_run:
        return [failure] if failure else []
    with store.lock:
        before = dict(record)
        _derive(store, object_type, values, record)
        values.update(LastModifiedDate=store.now(), LastModifiedById=user_id)
        values["SystemModstamp"] = values["LastModifiedDate"]
        store.set_fields(object_type, record, values)
        _after_write(store, object_type, record, before)
    return []


def _check_references(store: SalesforceStore, obj: ObjectDef, values: Record) -> RecordError | None:
    for name, value in values.items():
        field = obj.fields[name]
        if field.type == "reference" and value:
            target = store.get(value)
            if target is None or store.type_of(value) not in field.reference_to:
                code = "MALFORMED_ID" if len(value) not in (15, 18) else "INVALID_CROSS_REFERENCE_KEY"
                return RecordError(code, f"{_label(field)}: id value of incorrect type: {value}", (name,))
            if name == "OwnerId" and store.type_of(value) == "User" and not target.get("IsActive"):
                # A deactivated user keeps their records but can be given no new ones (no field named).
                return RecordError(
                    "INACTIVE_OWNER_OR_USER",
                    f"operation performed with inactive user [{value}] as owner of {obj.name.lower()}",
                )
    return None


def _duplicate_assignment(store: SalesforceStore, object_type: str, values: Record) -> RecordError | None:
    if object_type != "PermissionSetAssignment":
        return None
    for row in store.table(object_type).values():
        same = (row["AssigneeId"], row["PermissionSetId"]) == (
            values.get("AssigneeId"),
            values.get("PermissionSetId"),
        )
        if same and not row["IsDeleted"]:
            return RecordError(
                "DUPLICATE_VALUE",
                f"duplicate value found: <unknown> duplicates value on record with id: {row['Id']}",
            )
    return None


def _derive(store: SalesforceStore, object_type: str, values: Record, record: Record | None) -> None:
    """Fill the fields the platform computes from what was written."""
    merged = {**(record or {}), **values}
    if object_type == "Opportunity" and "StageName" in values:
        stage = next(
            (s for s in store.table("OpportunityStage").values() if s["MasterLabel"] == values["StageName"]),
            None,
        )
        if stage:
            values.update(IsClosed=stage["IsClosed"], IsWon=stage["IsWon"])
            values.setdefault("Probability", stage["DefaultProbability"])
            values.setdefault("ForecastCategoryName", stage["ForecastCategoryName"])
    elif object_type == "Task" and ("Status" in values or record is None):
        closed = merged.get("Status") in CLOSED_TASK_STATUSES
        values["IsClosed"] = closed
        if closed and not (record or {}).get("IsClosed"):
            values["CompletedDateTime"] = store.now()
        values.setdefault("Status", merged.get("Status") or "Not Started")
    if object_type == "TaskRelation":  # a contact or a lead is one of the task's people, else its What
        values["IsWhat"] = store.type_of(merged.get("RelationId") or "") not in ("Contact", "Lead")
    if object_type in ("Contact", "User") and ({"FirstName", "LastName"} & values.keys()):
        values["Name"] = " ".join(p for p in (merged.get("FirstName"), merged.get("LastName")) if p)
    if object_type == "OpportunityLineItem":
        quantity, price = merged.get("Quantity"), merged.get("UnitPrice")
        values["TotalPrice"] = (
            round(quantity * price, 2) if quantity is not None and price is not None else None
        )
    if object_type in ("Task", "Event") and "WhatId" in values:
        what = store.get(values["WhatId"])
        values["AccountId"] = (
            (what or {}).get("AccountId")
            if store.type_of(values["WhatId"] or "") == "Opportunity"
            else values["WhatId"]
        )


def _after_write(store: SalesforceStore, object_type: str, record: Record, before: Record) -> None:
    if object_type == "Opportunity" and record.get("StageName") != before.get("StageName"):
        store.insert(
            "OpportunityHistory",
            {
                "OpportunityId": record["Id"],
                "StageName": record["StageName"],
                "Probability": record["Probability"],
                "Amount": record["Amount"],
                "CloseDate": record["CloseDate"],
                "ForecastCategory": record["ForecastCategoryName"],
            },
            user_id=record["LastModifiedById"],
        )
        record["LastStageChangeDate"] = record["SystemModstamp"]
    if object_type == "Task" and not before:
        _relate_task(store, record)
    if object_type == "TaskRelation" and not record.get("IsWhat"):
        _count_task_people(store, record["TaskId"])
    if object_type == "Task" and store.type_of(record.get("WhatId") or "") == "Opportunity":
        opportunity = store.get(record["WhatId"])
        if opportunity is not None:
            opportunity["HasOpenActivity"] = any(
                not t["IsClosed"] for t in store.children("Task", "WhatId", opportunity["Id"])
            )


def _relate_task(store: SalesforceStore, task: Record) -> None:
    """Shared Activities: a new task's WhoId and WhatId are TaskRelation rows too, WhoCount its people."""
    for relation_id, is_what in ((task.get("WhoId"), False), (task.get("WhatId"), True)):
        if relation_id:
            relation = {"TaskId": task["Id"], "RelationId": relation_id, "IsWhat": is_what}
            store.insert("TaskRelation", relation, user_id=task["LastModifiedById"])
    task["WhoCount"] = 1 if task.get("WhoId") else 0


def delete(store: SalesforceStore, record: Record) -> None:
    """DELETE a record; taking a contact off a task changes its WhoCount (and so the task) as relating one
    does."""
    with store.lock:
        store.soft_delete(record)
        if store.type_of(record["Id"]) == "TaskRelation" and not record.get("IsWhat"):
            _count_task_people(store, record["TaskId"])


def _count_task_people(store: SalesforceStore, task_id: str) -> None:
    """Relating one more contact to a task, or taking one off, changes its WhoCount, so the task itself is
    modified too."""
    task = store.get(task_id)
    if task is None:
        return
    people = store.children("TaskRelation", "TaskId", task_id)
    task["WhoCount"] = sum(1 for r in people if not r["IsWhat"] and not r["IsDeleted"])
    task["LastModifiedDate"] = task["SystemModstamp"] = store.now()


def upsert(
    store: SalesforceStore,
    object_type: str,
    key_field: str,
    key_value: str,
    data: Record,
    user_id: str,
    *,
    dry_run: bool = False,
) -> tuple[str | None, bool, list[RecordError]]:
    """Update the record whose external id `key_field` equals `key_value` (exact match), else create it.

    Returns (id, created, errors); two matching records fail with DUPLICATE_EXTERNAL_ID.
    """
    obj = store.objects(user_id).get(object_type)
    field = obj.fields.get(key_field) if obj else None
    if obj is None or field is None or not field.external_id:
        return (
            None,
            False,
            [
                RecordError(
                    "INVALID_FIELD",
                    f"Field {key_field} is not an external id field of {object_type}",
                    (key_field,),
                )
            ],
        )
    matches = [r for r in store.children(object_type, key_field, key_value) if not r["IsDeleted"]]
    values = {k: v for k, v in data.items() if k != key_field}
    if len(matches) > 1:
        ids = ", ".join(r["Id"] for r in matches)
        return (
            None,
            False,
            [
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{key_field}: more than one record found for external id field: [{ids}]",
                    (key_field,),
                )
            ],
        )
    if matches:
        record_id = matches[0]["Id"]
        return record_id, False, update(store, object_type, record_id, values, user_id, dry_run=dry_run)
    new_id, errors = create(store, object_type, {**values, key_field: key_value}, user_id, dry_run=dry_run)
    return new_id, True, errors
