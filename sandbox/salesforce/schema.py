"""The standard objects the Salesforce stand-in serves, as field and relationship definitions.

One `ObjectDef` per sObject: its key prefix (the first three characters of every record id, e.g. 006 for
Opportunity), its fields (describe types: id, string, textarea, picklist, multipicklist, boolean, double,
currency, percent, int, date, datetime, reference) and its child relationships (parent-to-child subquery
names such as `OpportunityContactRoles`). Custom fields created through the Metadata API are added per
store on top of these (see `metadata_types.py`); this module only holds what every org has.
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


def _ro(name: str, type_: str, **kw: object) -> FieldDef:
    return FieldDef(name, type_, updateable=False, createable=False, **kw)  # type: ignore[arg-type]


def _ref(
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


def _ro_ref(name: str, to: str, rel: str) -> FieldDef:
    return _ro(name, "reference", length=18, reference_to=(to,), relationship_name=rel)


def _text(name: str, length: int = 255, type_: str = "string", **kw: object) -> FieldDef:
    return FieldDef(name, type_, length=length, **kw)  # type: ignore[arg-type]


def _pick(
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


def _system() -> list[FieldDef]:
    return [
        FieldDef("Id", "id", length=18, updateable=False, createable=False, nillable=False),
        _ro("IsDeleted", "boolean", nillable=False),
        _ro("CreatedDate", "datetime", nillable=False),
        FieldDef(
            "CreatedById",
            "reference",
            length=18,
            reference_to=("User",),
            relationship_name="CreatedBy",
            updateable=False,
            createable=False,
            nillable=False,
        ),
        _ro("LastModifiedDate", "datetime", nillable=False),
        FieldDef(
            "LastModifiedById",
            "reference",
            length=18,
            reference_to=("User",),
            relationship_name="LastModifiedBy",
            updateable=False,
            createable=False,
            nillable=False,
        ),
        _ro("SystemModstamp", "datetime", nillable=False),
    ]


def _object(
    name: str,
    prefix: str,
    fields: list[FieldDef],
    children: list[ChildRelationship] | None = None,
    *,
    createable: bool = True,
    updateable: bool = True,
) -> ObjectDef:
    all_fields = {f.name: f for f in [*_system(), *fields]}
    children_by_name = {c.name: c for c in children or []}
    return ObjectDef(name, prefix, name, all_fields, children_by_name, createable, updateable)


OWNER = _ref("OwnerId", ("User",), "Owner")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")
CLOSED_TASK_STATUSES = frozenset({"Completed"})
CONTACT_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)
QUOTE_STATUSES = (
    "Draft",
    "Needs Review",
    "In Review",
    "Approved",
    "Rejected",
    "Presented",
    "Accepted",
    "Denied",
)
FORECAST_CATEGORIES = ("Omitted", "Pipeline", "Best Case", "Commit", "Closed")
ACTIVITY_CHILDREN = [
    ChildRelationship("Tasks", "Task", "WhatId"),
    ChildRelationship("Events", "Event", "WhatId"),
]


def _activity_text() -> list[FieldDef]:
    return [_text("Subject", 255, "combobox"), _text("Description", 32000, "textarea")]


def _activity_links() -> list[FieldDef]:
    """The fields Task and Event share: who and what it is about, whose it is, whether it is archived."""
    return [
        _ref("WhoId", ("Contact",), "Who"),
        _ref("WhatId", ("Opportunity", "Account"), "What"),
        _ro_ref("AccountId", "Account", "Account"),
        OWNER,
        _ro("IsArchived", "boolean", nillable=False),
    ]


def _standard_objects(stage_names: tuple[str, ...]) -> dict[str, ObjectDef]:
    objects = [
        _object(
            "User",
            "005",
            [
                _text("Username", 80),
                _ro("Name", "string", length=121),
                _text("FirstName", 40),
                _text("LastName", 80),
                _text("Email", 128, "email"),
                FieldDef("IsActive", "boolean", nillable=False),
                _text("Title", 80),
            ],
        ),
        _object(
            "Account",
            "001",
            [
                _text("Name"),
                _text("Website", 255, "url"),
                _pick(
                    "Industry",
                    ("Technology", "Finance", "Healthcare", "Manufacturing", "Retail", "Education", "Other"),
                ),
                OWNER,
            ],
            [
                ChildRelationship("Contacts", "Contact", "AccountId"),
                ChildRelationship("Opportunities", "Opportunity", "AccountId"),
                ChildRelationship("Tasks", "Task", "WhatId"),
                ChildRelationship("Events", "Event", "WhatId"),
            ],
        ),
        _object(
            "Contact",
            "003",
            [
                _ref("AccountId", ("Account",), "Account"),
                _text("FirstName", 40),
                _text("LastName", 80),
                _ro("Name", "string", length=121),
                _text("Email", 80, "email"),
                _text("Title", 128),
                OWNER,
            ],
            [
                ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "ContactId"),
                ChildRelationship("Tasks", "Task", "WhoId"),
                ChildRelationship("Events", "Event", "WhoId"),
            ],
        ),
        _object(
            "Opportunity",
            "006",
            [
                _text("Name", 120),
                _ref("AccountId", ("Account",), "Account"),
                OWNER,
                _pick("StageName", stage_names, restricted=True),
                _ro("IsClosed", "boolean", nillable=False),
                _ro("IsWon", "boolean", nillable=False),
                FieldDef("Probability", "percent", precision=3),
                _pick("ForecastCategoryName", FORECAST_CATEGORIES),
                FieldDef("Amount", "currency", precision=18, scale=2),
                FieldDef("CloseDate", "date", nillable=False),
                _text("NextStep", 255),
                _text("Description", 32000, "textarea"),
                _pick("Type", ("Existing Business", "New Business")),
                _pick("LeadSource", ("Web", "Phone Inquiry", "Partner Referral", "Other")),
                _ro("LastActivityDate", "date"),
                _ro("HasOpenActivity", "boolean", nillable=False),
                _ro("HasOverdueTask", "boolean", nillable=False),
                _ro("LastStageChangeDate", "datetime"),
            ],
            [
                ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId"),
                *ACTIVITY_CHILDREN,
                ChildRelationship("OpportunityHistories", "OpportunityHistory", "OpportunityId"),
                ChildRelationship("OpportunityLineItems", "OpportunityLineItem", "OpportunityId"),
                ChildRelationship("Quotes", "Quote", "OpportunityId"),
            ],
        ),
        _object(
            "OpportunityStage",
            "01J",
            [
                _text("MasterLabel"),
                _text("ApiName"),
                FieldDef("IsActive", "boolean", nillable=False),
                FieldDef("IsClosed", "boolean", nillable=False),
                FieldDef("IsWon", "boolean", nillable=False),
                FieldDef("SortOrder", "int"),
                FieldDef("DefaultProbability", "percent"),
                _pick("ForecastCategoryName", FORECAST_CATEGORIES),
                _text("Description"),
            ],
            createable=False,
            updateable=False,
        ),
        _object(
            "OpportunityContactRole",
            "00K",
            [
                _ref("OpportunityId", ("Opportunity",), "Opportunity", nillable=False),
                _ref("ContactId", ("Contact",), "Contact", nillable=False),
                _pick("Role", CONTACT_ROLES),
                FieldDef("IsPrimary", "boolean", nillable=False),
            ],
        ),
        _object(
            "Task",
            "00T",
            [
                *_activity_text(),
                _pick("Status", TASK_STATUSES, restricted=True),
                _pick("Priority", ("High", "Normal", "Low")),
                _ro("IsClosed", "boolean", nillable=False),
                FieldDef("ActivityDate", "date"),
                _ro("CompletedDateTime", "datetime"),
                _pick("TaskSubtype", ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")),
                _pick("Type", ("Call", "Email", "Meeting", "Other")),
                _text("CallDisposition", 255),
                _pick("CallType", ("Internal", "Inbound", "Outbound")),
                FieldDef("CallDurationInSeconds", "int"),
                *_activity_links(),
            ],
        ),
        _object(
            "Event",
            "00U",
            [
                *_activity_text(),
                FieldDef("StartDateTime", "datetime"),
                FieldDef("EndDateTime", "datetime"),
                FieldDef("ActivityDateTime", "datetime"),
                FieldDef("ActivityDate", "date"),
                FieldDef("DurationInMinutes", "int"),
                FieldDef("IsAllDayEvent", "boolean", nillable=False),
                _text("Location", 255),
                _pick("EventSubtype", ("Event",)),
                *_activity_links(),
            ],
        ),
        _object(
            "OpportunityHistory",
            "008",
            [
                _ro_ref("OpportunityId", "Opportunity", "Opportunity"),
                _ro("StageName", "picklist", length=255),
                _ro("Probability", "percent"),
                _ro("Amount", "currency"),
                _ro("CloseDate", "date"),
                _ro("ForecastCategory", "picklist", length=40),
            ],
            createable=False,
            updateable=False,
        ),
        _object("Product2", "01t", [_text("Name"), FieldDef("IsActive", "boolean", nillable=False)]),
        _object(
            "OpportunityLineItem",
            "00k",
            [
                _ref("OpportunityId", ("Opportunity",), "Opportunity", nillable=False),
                _ref("Product2Id", ("Product2",), "Product2"),
                _ro("Name", "string", length=376),
                FieldDef("Quantity", "double", precision=12, scale=2),
                FieldDef("UnitPrice", "currency"),
                _ro("TotalPrice", "currency"),
                _text("Description", 255),
            ],
        ),
        _object(
            "Quote",
            "0Q0",
            [
                _text("Name"),
                _ref("OpportunityId", ("Opportunity",), "Opportunity"),
                _pick("Status", QUOTE_STATUSES),
                FieldDef("ExpirationDate", "date"),
            ],
        ),
        _object(
            "PermissionSet",
            "0PS",
            [_text("Name", 80), _text("Label", 80), _text("Description", 255)],
            createable=False,
            updateable=False,
        ),
        _object(
            "PermissionSetAssignment",
            "0Pa",
            [
                _ref("AssigneeId", ("User",), "Assignee", nillable=False),
                _ref("PermissionSetId", ("PermissionSet",), "PermissionSet", nillable=False),
            ],
            updateable=False,
        ),
    ]
    return {o.name: o for o in objects}


def standard_objects(stage_names: tuple[str, ...]) -> dict[str, ObjectDef]:
    """The standard object definitions, with the org's opportunity stage names as StageName's values."""
    return _standard_objects(stage_names)


PREFIX_TO_TYPE = {o.prefix: o.name for o in _standard_objects(()).values()}
