"""Turn a CRM-neutral `sandbox.book.Book` into Salesforce records the way a real org would hold them.

Mapping (what the connector should expect to read):
- owners -> User (plus one "Integration User" the API credentials log in as); companies -> Account;
  contacts -> Contact; deals -> Opportunity with the standard stages (`OpportunityStage` rows from
  `SALESFORCE_STAGES`); deal roles -> OpportunityContactRole (Role None when the book has no role).
- stage history -> OpportunityHistory rows (CreatedDate = when the stage was entered).
- line items -> OpportunityLineItem (one Product2 per product name); quotes -> Quote with Status
  Draft / Presented / Accepted / Rejected.
- meetings -> Event (WhatId = the opportunity, WhoId = the first attendee; a held or scheduled meeting is
  told apart only by its StartDateTime vs now, as in a real org). A canceled meeting keeps its Event with
  Subject prefixed "Canceled: ", a no-show "No-show: " (how calendar sync and reps mark them; Event has no
  status field).
- calls -> Task with TaskSubtype "Call", Type "Call", Status Completed, CallDisposition "Connected"
  (completed), "No Answer" (no_show) or "Canceled" (canceled); an open/scheduled call is Status
  "Not Started" with ActivityDate = its date.
- emails -> Task TaskSubtype "Email", Status Completed; notes -> Task TaskSubtype "Task", Type "Other",
  Status Completed (orgs without Enhanced Notes log notes as completed tasks); tasks -> Task TaskSubtype
  "Task", Status Completed or Not Started.
Every attendee of a task becomes a TaskRelation row (Shared Activities; the task's WhoCount counts them)
and every attendee of a meeting an accepted invitee in EventRelation, each beside the row relating the
activity to its opportunity (IsWhat); the first attendee is also the activity's WhoId.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.book import SALESFORCE_STAGES, Book, BookActivity, BookDeal
from sandbox.salesforce.schema import CLOSED_TASK_STATUSES, TASK_STATUSES
from sandbox.salesforce.store import Record, SalesforceStore
from sandbox.salesforce.values import sf_datetime

QUOTE_STATUS = {"draft": "Draft", "presented": "Presented", "accepted": "Accepted", "rejected": "Rejected"}
CALL_DISPOSITION = {"completed": "Connected", "no_show": "No Answer", "canceled": "Canceled"}
EVENT_PREFIX = {"canceled": "Canceled: ", "no_show": "No-show: "}


def seed_org(store: SalesforceStore) -> None:
    """Stages and the API user every org has, even with no book."""
    stamp = sf_datetime(datetime(2020, 1, 1, tzinfo=UTC))
    for order, (name, closed, won, probability, forecast) in enumerate(SALESFORCE_STAGES, start=1):
        store.insert(
            "OpportunityStage",
            {
                "MasterLabel": name,
                "ApiName": name,
                "IsActive": True,
                "IsClosed": closed,
                "IsWon": won,
                "SortOrder": order,
                "DefaultProbability": probability,
                "ForecastCategoryName": forecast,
            },
            stamp=stamp,
        )
    for order, status in enumerate(TASK_STATUSES, start=1):
        store.insert(
            "TaskStatus",
            {
                "MasterLabel": status, "ApiName": status, "IsClosed": status in CLOSED_TASK_STATUSES,
                "IsDefault": order == 1, "SortOrder": order,
            },
            stamp=stamp,
        )
    store.schema_changed()
    user = store.insert(
        "User",
        {
            "Username": store.org["username"],
            "FirstName": "Integration",
            "LastName": "User",
            "Name": "Integration User",
            "IsActive": True,
            "Email": store.org["username"],
        },
        stamp=stamp,
    )
    store.org["api_user_id"] = user["Id"]
    user["CreatedById"] = user["LastModifiedById"] = user["Id"]


def import_book(store: SalesforceStore, book: Book) -> None:
    users = {
        o.id: _insert(
            store,
            "User",
            {
                "Username": o.email,
                "FirstName": o.first_name,
                "LastName": o.last_name,
                "Name": f"{o.first_name} {o.last_name}",
                "Email": o.email,
                "IsActive": True,
            },
            None,
        )
        for o in book.owners
    }
    default_owner = next(iter(users.values()), store.org["api_user_id"])
    accounts = {
        c.id: _insert(
            store,
            "Account",
            {"Name": c.name, "Website": c.domain, "Industry": c.industry, "OwnerId": default_owner},
            None,
        )
        for c in book.companies
    }
    contacts = {
        c.id: _insert(
            store,
            "Contact",
            {
                "AccountId": accounts.get(c.company_id),
                "FirstName": c.first_name,
                "LastName": c.last_name,
                "Name": f"{c.first_name} {c.last_name}",
                "Email": c.email,
                "Title": c.title,
                "OwnerId": default_owner,
            },
            None,
        )
        for c in book.contacts
    }
    products: dict[str, str] = {}
    for deal in book.deals:
        _import_deal(store, deal, users, accounts, contacts, products)


def _insert(store: SalesforceStore, object_type: str, values: Record, when: datetime | None) -> str:
    stamp = sf_datetime(when) if when else None
    return str(store.insert(object_type, values, stamp=stamp)["Id"])


def _import_deal(
    store: SalesforceStore,
    deal: BookDeal,
    users: dict[int, str],
    accounts: dict[int, str],
    contacts: dict[int, str],
    products: dict[str, str],
) -> None:
    stage, closed, won, probability, _forecast = SALESFORCE_STAGES[deal.stage_index]
    owner = users.get(deal.owner_id) or str(store.org["api_user_id"])
    opp_id = _insert(
        store,
        "Opportunity",
        {
            "Name": deal.name,
            "AccountId": accounts.get(deal.company_id),
            "OwnerId": owner,
            "StageName": stage,
            "IsClosed": closed,
            "IsWon": won,
            "Probability": probability,
            "ForecastCategoryName": deal.forecast_category,
            "Amount": deal.amount,
            "CloseDate": deal.close_date.isoformat(),
            "NextStep": deal.next_step,
            "Description": deal.description,
            "HasOpenActivity": False,
            "HasOverdueTask": False,
        },
        deal.created_at,
    )
    for role in deal.roles:
        if role.contact_id in contacts:
            _insert(
                store,
                "OpportunityContactRole",
                {
                    "OpportunityId": opp_id,
                    "ContactId": contacts[role.contact_id],
                    "Role": role.role,
                    "IsPrimary": role.is_primary,
                },
                deal.created_at,
            )
    for change in deal.stage_history:
        name, _c, _w, prob, forecast = SALESFORCE_STAGES[change.stage_index]
        _insert(
            store,
            "OpportunityHistory",
            {
                "OpportunityId": opp_id,
                "StageName": name,
                "Probability": prob,
                "Amount": deal.amount,
                "CloseDate": deal.close_date.isoformat(),
                "ForecastCategory": forecast,
            },
            change.entered_at,
        )
    for item in deal.line_items:
        if item.product not in products:
            products[item.product] = _insert(
                store, "Product2", {"Name": item.product, "IsActive": True}, item.created_at
            )
        _insert(
            store,
            "OpportunityLineItem",
            {
                "OpportunityId": opp_id,
                "Product2Id": products[item.product],
                "Name": f"{deal.name} {item.product}",
                "Quantity": item.quantity,
                "UnitPrice": item.unit_price,
                "TotalPrice": round(item.quantity * item.unit_price, 2),
            },
            item.created_at,
        )
    for quote in deal.quotes:
        _insert(
            store,
            "Quote",
            {"OpportunityId": opp_id, "Name": quote.name, "Status": QUOTE_STATUS.get(quote.status, "Draft")},
            quote.created_at,
        )
    for activity in deal.activities:
        _import_activity(store, activity, deal, opp_id, owner, users, contacts)
    _roll_up(store, opp_id, deal)


def _import_activity(
    store: SalesforceStore,
    activity: BookActivity,
    deal: BookDeal,
    opp_id: str,
    owner: str,
    users: dict[int, str],
    contacts: dict[int, str],
) -> None:
    attendees = list(dict.fromkeys(contacts[c] for c in activity.contact_ids if c in contacts))
    who = attendees[0] if attendees else None
    common = {
        "WhatId": opp_id,
        "WhoId": who,
        "Description": activity.body,
        "IsArchived": False,
        "AccountId": store.get(opp_id)["AccountId"],  # type: ignore[index]
        "OwnerId": users.get(activity.owner_id, owner) if activity.owner_id is not None else owner,
    }
    created = min(activity.start, deal.modified_at)
    if activity.kind == "meeting":
        end = activity.end or activity.start + timedelta(minutes=30)
        event_id = _insert(
            store,
            "Event",
            {
                **common,
                "Subject": EVENT_PREFIX.get(activity.status, "") + activity.subject,
                "StartDateTime": sf_datetime(activity.start),
                "EndDateTime": sf_datetime(end),
                "ActivityDateTime": sf_datetime(activity.start),
                "ActivityDate": activity.start.date().isoformat(),
                "DurationInMinutes": int((end - activity.start).total_seconds() // 60),
                "IsAllDayEvent": False,
                "EventSubtype": "Event",
            },
            created,
        )
        _invite(store, event_id, opp_id, attendees, created)
        return
    done = activity.status in ("completed", "no_show", "canceled")
    subtype, kind = {"call": ("Call", "Call"), "email": ("Email", "Email"), "note": ("Task", "Other")}.get(
        activity.kind, ("Task", None)
    )
    task_id = _insert(
        store,
        "Task",
        {
            **common,
            "Subject": activity.subject,
            "Status": "Completed" if done else "Not Started",
            "Priority": "Normal",
            "IsClosed": done,
            "ActivityDate": activity.start.date().isoformat(),
            "CompletedDateTime": sf_datetime(activity.end or activity.start) if done else None,
            "TaskSubtype": subtype,
            "Type": kind,
            "CallDisposition": CALL_DISPOSITION.get(activity.status) if activity.kind == "call" else None,
            "WhoCount": len(attendees),
        },
        created,
    )
    for contact_id, is_what in (*((c, False) for c in attendees), (opp_id, True)):
        relation = {"TaskId": task_id, "RelationId": contact_id, "IsWhat": is_what}
        _insert(store, "TaskRelation", relation, created)


def _invite(
    store: SalesforceStore, event_id: str, opp_id: str, contact_ids: list[str], created: datetime
) -> None:
    """The event's EventRelation rows: each attendee related and invited (accepted), and the What."""
    attendee = {"IsParent": True, "IsInvitee": True, "IsWhat": False, "Status": "Accepted"}
    what = {"RelationId": opp_id, "IsParent": False, "IsInvitee": False, "IsWhat": True, "Status": "New"}
    for values in (*({**attendee, "RelationId": c} for c in contact_ids), what):
        _insert(store, "EventRelation", {"EventId": event_id, **values}, created)


def _roll_up(store: SalesforceStore, opp_id: str, deal: BookDeal) -> None:
    """LastActivityDate / HasOpenActivity / HasOverdueTask as the platform keeps them."""
    opportunity = store.get(opp_id)
    assert opportunity is not None
    today = store.clock().date().isoformat()
    tasks = store.children("Task", "WhatId", opp_id)
    events = store.children("Event", "WhatId", opp_id)
    dates = [t["ActivityDate"] for t in tasks if t["IsClosed"]] + [
        e["ActivityDate"] for e in events if e["ActivityDate"] <= today
    ]
    opportunity["LastActivityDate"] = max(dates) if dates else None
    opportunity["HasOpenActivity"] = any(not t["IsClosed"] for t in tasks) or any(
        e["ActivityDate"] > today for e in events
    )
    opportunity["HasOverdueTask"] = any(not t["IsClosed"] and t["ActivityDate"] < today for t in tasks)
    opportunity["LastModifiedDate"] = opportunity["SystemModstamp"] = sf_datetime(deal.modified_at)
