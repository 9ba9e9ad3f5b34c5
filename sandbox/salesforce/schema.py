"""The standard objects the Salesforce stand-in serves, as field and relationship definitions.

One `ObjectDef` per sObject: its key prefix (the first three characters of every record id, e.g. 006 for
Opportunity), its fields (describe types: id, string, textarea, picklist, multipicklist, boolean, double,
currency, percent, int, date, datetime, reference) and its child relationships (parent-to-child subquery
names such as `OpportunityContactRoles`); the building blocks are in `schema_parts.py`. Custom fields
created through the Metadata API are added per store on top of these (see `metadata_types.py`). Shared
Activities are on, as in orgs created since 2013: every contact on a Task is a `TaskRelation` row
(`TaskRelations` under the task, with the What's row: IsWhat), WhoId being the primary one and WhoCount
their number, and an event's people are EventRelation rows (`EventRelations`: invitees with their Status,
the related contacts with IsParent, the What with IsWhat). A real org also serves TaskWhoRelation and
EventWhoRelation, views of the contact rows that nothing here reads; the stand-in does not keep copies.
"""

from __future__ import annotations

from sandbox.salesforce.schema_parts import (
    ChildRelationship,
    FieldDef,
    ObjectDef,
    make_object,
    pick,
    ref,
    ro,
    ro_ref,
    text,
)

__all__ = ["ChildRelationship", "FieldDef", "ObjectDef", "standard_objects"]

OWNER = ref("OwnerId", ("User",), "Owner")
RELATION_TARGETS = ("Contact", "Lead", "User", "Account", "Opportunity")
RELATION_STATUSES = ("New", "Accepted", "Declined", "Uninvited", "Maybe")
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
    return [text("Subject", 255, "combobox"), text("Description", 32000, "textarea")]


def _activity_links() -> list[FieldDef]:
    """The fields Task and Event share: who and what it is about, whose it is, whether it is archived."""
    return [
        ref("WhoId", ("Contact", "Lead"), "Who"),
        ref("WhatId", ("Opportunity", "Account"), "What"),
        ro_ref("AccountId", "Account", "Account"),
        OWNER,
        ro("IsArchived", "boolean", nillable=False),
    ]


def _standard_objects(stage_names: tuple[str, ...]) -> dict[str, ObjectDef]:
    objects = [
        make_object(
            "User",
            "005",
            [
                text("Username", 80),
                ro("Name", "string", length=121),
                text("FirstName", 40),
                text("LastName", 80),
                text("Email", 128, "email"),
                FieldDef("IsActive", "boolean", nillable=False),
                text("Title", 80),
            ],
        ),
        make_object(
            "Account",
            "001",
            [
                text("Name"),
                text("Website", 255, "url"),
                pick(
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
        make_object(
            "Contact",
            "003",
            [
                ref("AccountId", ("Account",), "Account"),
                text("FirstName", 40),
                text("LastName", 80),
                ro("Name", "string", length=121),
                text("Email", 80, "email"),
                text("Title", 128),
                OWNER,
            ],
            [
                ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "ContactId"),
                ChildRelationship("Tasks", "Task", "WhoId"),
                ChildRelationship("Events", "Event", "WhoId"),
            ],
        ),
        make_object(
            "Opportunity",
            "006",
            [
                text("Name", 120),
                ref("AccountId", ("Account",), "Account"),
                OWNER,
                pick("StageName", stage_names, restricted=True),
                ro("IsClosed", "boolean", nillable=False),
                ro("IsWon", "boolean", nillable=False),
                FieldDef("Probability", "percent", precision=3),
                pick("ForecastCategoryName", FORECAST_CATEGORIES),
                FieldDef("Amount", "currency", precision=18, scale=2),
                FieldDef("CloseDate", "date", nillable=False),
                text("NextStep", 255),
                text("Description", 32000, "textarea"),
                pick("Type", ("Existing Business", "New Business")),
                pick("LeadSource", ("Web", "Phone Inquiry", "Partner Referral", "Other")),
                ro("LastActivityDate", "date"),
                ro("HasOpenActivity", "boolean", nillable=False),
                ro("HasOverdueTask", "boolean", nillable=False),
                ro("LastStageChangeDate", "datetime"),
            ],
            [
                ChildRelationship("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId"),
                *ACTIVITY_CHILDREN,
                ChildRelationship("OpportunityHistories", "OpportunityHistory", "OpportunityId"),
                ChildRelationship("OpportunityLineItems", "OpportunityLineItem", "OpportunityId"),
                ChildRelationship("Quotes", "Quote", "OpportunityId"),
            ],
        ),
        make_object(
            "OpportunityStage",
            "01J",
            [
                text("MasterLabel"),
                text("ApiName"),
                FieldDef("IsActive", "boolean", nillable=False),
                FieldDef("IsClosed", "boolean", nillable=False),
                FieldDef("IsWon", "boolean", nillable=False),
                FieldDef("SortOrder", "int"),
                FieldDef("DefaultProbability", "percent"),
                pick("ForecastCategoryName", FORECAST_CATEGORIES),
                text("Description"),
            ],
            createable=False,
            updateable=False,
        ),
        make_object(
            "TaskStatus",
            "01H",  # Salesforce's picklist-value objects share 01J; the sandbox needs one prefix per object
            [
                text("MasterLabel"),
                text("ApiName"),
                FieldDef("IsClosed", "boolean", nillable=False),
                FieldDef("IsDefault", "boolean", nillable=False),
                FieldDef("SortOrder", "int"),
            ],
            createable=False,
            updateable=False,
        ),
        make_object(
            "OpportunityContactRole",
            "00K",
            [
                ref("OpportunityId", ("Opportunity",), "Opportunity", nillable=False),
                ref("ContactId", ("Contact",), "Contact", nillable=False),
                pick("Role", CONTACT_ROLES),
                FieldDef("IsPrimary", "boolean", nillable=False),
            ],
        ),
        make_object(
            "Task",
            "00T",
            [
                *_activity_text(),
                pick("Status", TASK_STATUSES, restricted=True),
                pick("Priority", ("High", "Normal", "Low")),
                ro("IsClosed", "boolean", nillable=False),
                FieldDef("ActivityDate", "date"),
                ro("CompletedDateTime", "datetime"),
                pick("TaskSubtype", ("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn")),
                pick("Type", ("Call", "Email", "Meeting", "Other")),
                text("CallDisposition", 255),
                pick("CallType", ("Internal", "Inbound", "Outbound")),
                FieldDef("CallDurationInSeconds", "int"),
                ro("WhoCount", "int"),
                *_activity_links(),
            ],
            [ChildRelationship("TaskRelations", "TaskRelation", "TaskId")],
        ),
        make_object(
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
                text("Location", 255),
                pick("EventSubtype", ("Event",)),
                ro("IsChild", "boolean", nillable=False),
                *_activity_links(),
            ],
            [ChildRelationship("EventRelations", "EventRelation", "EventId")],
        ),
        make_object(
            "OpportunityHistory",
            "008",
            [
                ro_ref("OpportunityId", "Opportunity", "Opportunity"),
                ro("StageName", "picklist", length=255),
                ro("Probability", "percent"),
                ro("Amount", "currency"),
                ro("CloseDate", "date"),
                ro("ForecastCategory", "picklist", length=40),
            ],
            createable=False,
            updateable=False,
        ),
        make_object("Product2", "01t", [text("Name"), FieldDef("IsActive", "boolean", nillable=False)]),
        make_object(
            "OpportunityLineItem",
            "00k",
            [
                ref("OpportunityId", ("Opportunity",), "Opportunity", nillable=False),
                ref("Product2Id", ("Product2",), "Product2"),
                ro("Name", "string", length=376),
                FieldDef("Quantity", "double", precision=12, scale=2),
                FieldDef("UnitPrice", "currency"),
                ro("TotalPrice", "currency"),
                text("Description", 255),
            ],
        ),
        make_object(
            "Quote",
            "0Q0",
            [
                text("Name"),
                ref("OpportunityId", ("Opportunity",), "Opportunity"),
                pick("Status", QUOTE_STATUSES),
                FieldDef("ExpirationDate", "date"),
            ],
        ),
        make_object(
            "PermissionSet",
            "0PS",
            [text("Name", 80), text("Label", 80), text("Description", 255)],
            createable=False,
            updateable=False,
        ),
        make_object(
            "FieldPermissions",
            "01k",
            [
                ref("ParentId", ("PermissionSet",), "Parent", nillable=False),
                text("SobjectType", 40),
                text("Field", 255),
                FieldDef("PermissionsRead", "boolean", nillable=False),
                FieldDef("PermissionsEdit", "boolean", nillable=False),
            ],
            createable=False,
            updateable=False,
        ),
        make_object(
            "PermissionSetAssignment",
            "0Pa",
            [
                ref("AssigneeId", ("User",), "Assignee", nillable=False),
                ref("PermissionSetId", ("PermissionSet",), "PermissionSet", nillable=False),
            ],
            updateable=False,
        ),
        make_object(
            "TaskRelation",
            "0RT",
            [
                ref("TaskId", ("Task",), "Task", nillable=False),
                ref("RelationId", RELATION_TARGETS, "Relation", nillable=False),
                FieldDef("IsWhat", "boolean", nillable=False),
            ],
            updateable=False,  # create and delete only
        ),
        make_object(
            "EventRelation",
            "0RE",
            [
                ref("EventId", ("Event",), "Event", nillable=False),
                ref("RelationId", RELATION_TARGETS, "Relation", nillable=False),
                FieldDef("IsInvitee", "boolean", nillable=False),
                FieldDef("IsParent", "boolean", nillable=False),
                FieldDef("IsWhat", "boolean", nillable=False),
                pick("Status", RELATION_STATUSES),
                text("Response", 255),
                FieldDef("RespondedDate", "datetime"),
            ],
        ),
    ]
    return {o.name: o for o in objects}


def standard_objects(stage_names: tuple[str, ...]) -> dict[str, ObjectDef]:
    """The standard object definitions, with the org's opportunity stage names as StageName's values."""
    return _standard_objects(stage_names)


PREFIX_TO_TYPE = {o.prefix: o.name for o in _standard_objects(()).values()}
