"""The building blocks of object definitions: `FieldDef`, `ChildRelationship`, `ObjectDef` and shorthands.

Describe types used: id, string, textarea, combobox, picklist, multipicklist, boolean, double, currency,
percent, int, date, datetime, reference. The shorthands (`ro`, `ref`, `text`, `pick`, `make_object`) keep
the standard object list in `schema.py` readable; every object gets the system fields (Id, IsDeleted,
CreatedDate, CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str = ""
    length: int = 0
    picklist: tuple[str, ...] | None = None
    restricted: bool = False
    updateable: bool = True
    createable: bool = True
    nillable: bool = True
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    precision: int = 0
    scale: int = 0
    external_id: bool = False

    @property
    def is_text(self) -> bool:
        return self.type in (
            "string",
            "textarea",
            "picklist",
            "multipicklist",
            "combobox",
            "email",
            "phone",
            "url",
        )


@dataclass(frozen=True)
class ChildRelationship:
    name: str  # e.g. OpportunityContactRoles
    child: str  # e.g. OpportunityContactRole
    field: str  # e.g. OpportunityId


@dataclass(frozen=True)
class ObjectDef:
    name: str
    prefix: str
    label: str
    fields: dict[str, FieldDef]
    children: dict[str, ChildRelationship] = field(default_factory=dict)
    createable: bool = True
    updateable: bool = True

    def with_fields(self, extra: list[FieldDef]) -> ObjectDef:
        return replace(self, fields={**self.fields, **{f.name: f for f in extra}})


def ro(name: str, type_: str, **kw: object) -> FieldDef:
    return FieldDef(name, type_, updateable=False, createable=False, **kw)  # type: ignore[arg-type]


def ref(
    name: str, to: tuple[str, ...], rel: str, *, writable: bool = True, nillable: bool = True
) -> FieldDef:
    return FieldDef(
        name,
        "reference",
        length=18,
        reference_to=to,
        relationship_name=rel,
        updateable=writable,
        createable=writable,
        nillable=nillable,
    )


def ro_ref(name: str, to: str, rel: str) -> FieldDef:
    return ro(name, "reference", length=18, reference_to=(to,), relationship_name=rel)


def text(name: str, length: int = 255, type_: str = "string", **kw: object) -> FieldDef:
    return FieldDef(name, type_, length=length, **kw)  # type: ignore[arg-type]


def pick(
    name: str,
    values: tuple[str, ...],
    *,
    restricted: bool = False,
    multi: bool = False,
    writable: bool = True,
) -> FieldDef:
    return FieldDef(
        name,
        "multipicklist" if multi else "picklist",
        length=255 if not multi else 4099,
        picklist=values,
        restricted=restricted,
        updateable=writable,
        createable=writable,
    )


def system_fields() -> list[FieldDef]:
    def by_user(name: str, relationship: str) -> FieldDef:
        return ro(
            name,
            "reference",
            length=18,
            reference_to=("User",),
            relationship_name=relationship,
            nillable=False,
        )

    return [
        FieldDef("Id", "id", length=18, updateable=False, createable=False, nillable=False),
        ro("IsDeleted", "boolean", nillable=False),
        ro("CreatedDate", "datetime", nillable=False),
        by_user("CreatedById", "CreatedBy"),
        ro("LastModifiedDate", "datetime", nillable=False),
        by_user("LastModifiedById", "LastModifiedBy"),
        ro("SystemModstamp", "datetime", nillable=False),
    ]


def make_object(
    name: str,
    prefix: str,
    fields: list[FieldDef],
    children: list[ChildRelationship] | None = None,
    *,
    createable: bool = True,
    updateable: bool = True,
) -> ObjectDef:
    all_fields = {f.name: f for f in [*system_fields(), *fields]}
    children_by_name = {c.name: c for c in children or []}
    return ObjectDef(name, prefix, name, all_fields, children_by_name, createable, updateable)
