"""Turn a CRM-neutral `Book` into HubSpot records: owners, companies, contacts, deals in the default
pipeline, engagements, line items, quotes and their associations.

Roles on a deal become user-defined deal->contact association labels (created on the fly for a role
the catalogue lacks) and the contact's `hs_buying_role`. Stage history becomes `hs_date_entered_*`
(first entry), `hs_v2_date_entered_*` (latest entry), `hs_date_exited_*` and dealstage history.
Imported stamps are the book's, so an incremental read sees the book's own modification times.
"""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime, timedelta

from sandbox.book import HUBSPOT_STAGES, Book, BookActivity, BookDeal, hubspot_stage_index
from sandbox.hubspot.labels import USER_DEFINED
from sandbox.hubspot.schema import CALL_CONNECTED
from sandbox.hubspot.store import HubSpotStore
from sandbox.hubspot.values import iso_ms, number

NO_ANSWER = "73a0d17f-1163-4015-bdd5-ec830791da20"
FORECAST = {
    "pipeline": "PIPELINE",
    "best case": "BEST_CASE",
    "commit": "COMMIT",
    "closed": "CLOSED",
    "omitted": "OMIT",
}
BUYING_ROLE = {
    "other": "OTHER",
    "decision maker": "DECISION_MAKER",
    "economic decision maker": "DECISION_MAKER",
    "economic buyer": "BUDGET_HOLDER",
    "executive sponsor": "EXECUTIVE_SPONSOR",
    "champion": "CHAMPION",
    "influencer": "INFLUENCER",
    "evaluator": "INFLUENCER",
    "technical buyer": "INFLUENCER",
    "business user": "END_USER",
    "user": "END_USER",
    "legal": "LEGAL_AND_COMPLIANCE",
    "blocker": "BLOCKER",
}
QUOTE_STATUS = {  # (hs_status: internal approval, hs_quote_status: the lifecycle the buyer sees)
    "draft": ("DRAFT", "DRAFT"),
    "presented": ("APPROVAL_NOT_NEEDED", "PUBLISHED"),
    "accepted": ("APPROVAL_NOT_NEEDED", "ACCEPTED"),
    "rejected": ("APPROVAL_NOT_NEEDED", "VOID"),
}
MEETING_OUTCOME = {
    "completed": "COMPLETED",
    "scheduled": "SCHEDULED",
    "open": "SCHEDULED",
    "canceled": "CANCELED",
    "no_show": "NO_SHOW",
}
TASK_STATUS = {"completed": "COMPLETED", "canceled": "DEFERRED"}


def _iso(moment: datetime | date) -> str:
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return iso_ms(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


class BookImporter:
    def __init__(self, store: HubSpotStore) -> None:
        self.store = store
        self.owners: dict[int, str] = {}
        self.companies: dict[int, str] = {}
        self.contacts: dict[int, str] = {}
        self.labels: dict[str, int] = {
            str(e["label"]).lower(): int(e["typeId"])
            for e in store.labels_between("deals", "contacts")
            if e["category"] == USER_DEFINED
        }

    def run(self, book: Book) -> None:
        epoch = min((d.created_at for d in book.deals), default=datetime(2024, 1, 1, tzinfo=UTC))
        start = _iso(epoch - timedelta(days=90))
        for owner in book.owners:
            owner_id = str(90_000_000 + owner.id)
            self.owners[owner.id] = owner_id
            self.store.tables["owners"][owner_id] = {
                "id": owner_id,
                "email": owner.email,
                "firstName": owner.first_name,
                "lastName": owner.last_name,
                "userId": 1_000_000 + owner.id,
                "userIdIncludingInactive": 1_000_000 + owner.id,
                "type": "PERSON",
                "createdAt": start,
                "updatedAt": start,
                "archived": False,
                "teams": [],
            }
        names = {}
        for company in book.companies:
            company_props = {"name": company.name, "domain": company.domain, "industry": company.industry}
            self.companies[company.id] = self.store.insert("companies", company_props, created_at=start)["id"]
            names[company.id] = company.name
        roles = self._buying_roles(book)
        for contact in book.contacts:
            company_id = self.companies.get(contact.company_id)
            props: dict[str, str | None] = {
                "firstname": contact.first_name,
                "lastname": contact.last_name,
                "email": contact.email,
                "jobtitle": contact.title,
                "company": names.get(contact.company_id),
                "associatedcompanyid": company_id,
                "hs_buying_role": ";".join(sorted(roles.get(contact.id, ()))) or None,
            }
            self.contacts[contact.id] = self.store.insert("contacts", props, created_at=start)["id"]
            if company_id:
                self.store.associate(
                    "contacts", self.contacts[contact.id], "companies", company_id, [1], bump=False
                )
        for deal in book.deals:
            self._deal(deal)

    def _buying_roles(self, book: Book) -> dict[int, set[str]]:
        roles: dict[int, set[str]] = {}
        for deal in book.deals:
            for role in deal.roles:
                mapped = BUYING_ROLE.get((role.role or "").lower())
                if mapped:
                    roles.setdefault(role.contact_id, set()).add(mapped)
        return roles

    def _label(self, role: str) -> int:
        key = role.lower()
        if key not in self.labels:
            self.labels[key] = self.store.add_label("deals", "contacts", role)
        return self.labels[key]

    def _deal(self, deal: BookDeal) -> None:
        stage = HUBSPOT_STAGES[hubspot_stage_index(deal.stage_index)][0]
        props = {
            "dealname": deal.name,
            "dealstage": stage,
            "pipeline": "default",
            "amount": None if deal.amount is None else number(deal.amount),
            "closedate": _iso(deal.close_date),
            "hubspot_owner_id": self.owners.get(deal.owner_id),
            "hs_next_step": deal.next_step,
            "description": deal.description,
            "hs_manual_forecast_category": FORECAST.get(deal.forecast_category.lower()),
        }
        record = self.store.insert(
            "deals", props, created_at=_iso(deal.created_at), updated_at=_iso(deal.modified_at)
        )
        deal_id = record["id"]
        self._stage_history(record, deal)
        link = self.store.associate
        if deal.company_id in self.companies:
            link("deals", deal_id, "companies", self.companies[deal.company_id], [5], bump=False)
        for role in deal.roles:
            if role.contact_id in self.contacts:
                types = [self._label(role.role)] if role.role else []
                link("deals", deal_id, "contacts", self.contacts[role.contact_id], types, bump=False)
        for activity in deal.activities:
            kind, engagement = self._activity(activity, deal)
            link(kind, engagement, "deals", deal_id, [], bump=False)
            for contact_id in activity.contact_ids:
                if contact_id in self.contacts:
                    link(kind, engagement, "contacts", self.contacts[contact_id], [], bump=False)
        total = 0.0
        for item in deal.line_items:
            total += item.quantity * item.unit_price
            props = {
                "name": item.product,
                "quantity": number(item.quantity),
                "price": number(item.unit_price),
                "amount": number(item.quantity * item.unit_price),
            }
            line = self.store.insert("line_items", props, created_at=_iso(item.created_at))
            link("deals", deal_id, "line_items", line["id"], [], bump=False)
        for quote in deal.quotes:
            props = {
                "hs_title": quote.name,
                "hs_status": QUOTE_STATUS.get(quote.status, ("DRAFT", "DRAFT"))[0],
                "hs_quote_status": QUOTE_STATUS.get(quote.status, ("DRAFT", "DRAFT"))[1],
                "hs_expiration_date": _iso(quote.created_at + timedelta(days=30)),
                "hs_quote_amount": number(total),
                "hs_esign_enabled": "true",
                "hs_accepted_date": _iso(quote.created_at + timedelta(days=3))
                if quote.status == "accepted"
                else None,
            }
            created = self.store.insert("quotes", props, created_at=_iso(quote.created_at))
            link("deals", deal_id, "quotes", created["id"], [], bump=False)

    def _stage_history(self, record: dict, deal: BookDeal) -> None:  # type: ignore[type-arg]
        props: dict[str, str] = record["properties"]
        entries: list[list[str]] = []
        previous = None
        for change in sorted(deal.stage_history, key=lambda c: c.entered_at):
            stage, stamp = HUBSPOT_STAGES[hubspot_stage_index(change.stage_index)][0], _iso(change.entered_at)
            if stage == previous:
                continue
            props.setdefault(f"hs_date_entered_{stage}", stamp)
            props[f"hs_v2_date_entered_{stage}"] = stamp
            if previous:
                props[f"hs_date_exited_{previous}"] = props[f"hs_v2_date_exited_{previous}"] = stamp
            entries.insert(0, [stage, stamp, "CRM_UI"])
            previous = stage
        if entries:
            record["history"]["dealstage"] = entries

    def _activity(self, activity: BookActivity, deal: BookDeal) -> tuple[str, str]:
        start, status = _iso(activity.start), activity.status
        owner = self.owners.get(activity.owner_id or deal.owner_id)
        props: dict[str, str | None] = {"hs_timestamp": start, "hubspot_owner_id": owner}
        kind = activity.kind + "s"
        if activity.kind == "meeting":
            end = activity.end or activity.start + timedelta(hours=1)
            props.update(
                hs_meeting_title=activity.subject,
                hs_meeting_body=activity.body,
                hs_meeting_start_time=start,
                hs_meeting_end_time=_iso(end),
                hs_meeting_outcome=MEETING_OUTCOME.get(status, "SCHEDULED"),
            )
        elif activity.kind == "call":
            props.update(
                hs_call_title=activity.subject,
                hs_call_body=activity.body,
                hs_call_direction="OUTBOUND",
                hs_call_status={"scheduled": "QUEUED", "open": "QUEUED", "canceled": "CANCELED"}.get(
                    status, "COMPLETED"
                ),
                hs_call_disposition={"completed": CALL_CONNECTED, "no_show": NO_ANSWER}.get(status),
            )
        elif activity.kind == "email":
            props.update(
                hs_email_subject=activity.subject,
                hs_email_text=activity.body,
                hs_email_direction="EMAIL",
                hs_email_status="SENT",
            )
        elif activity.kind == "note":
            props.update(hs_note_body=f"{activity.subject}\n{activity.body}".strip())
        else:
            kind = "tasks"
            props.update(
                hs_task_subject=activity.subject,
                hs_task_body=activity.body,
                hs_task_type="TODO",
                hs_task_priority="MEDIUM",
                hs_task_status=TASK_STATUS.get(status, "NOT_STARTED"),
            )
        created = min(activity.start, deal.modified_at)
        updated = max(created, activity.end or activity.start) if status == "completed" else created
        record = self.store.insert(
            kind, props, created_at=_iso(created), updated_at=_iso(min(updated, deal.modified_at))
        )
        return kind, record["id"]


def import_book(store: HubSpotStore, book: Book) -> None:
    # Hundreds of thousands of small dicts: the cyclic GC would rescan them over and over while they are
    # built (none of them form cycles), so it is paused for the import.
    enabled = gc.isenabled()
    gc.disable()
    try:
        with store.lock:
            BookImporter(store).run(book)
    finally:
        if enabled:
            gc.enable()
    store.settle()
