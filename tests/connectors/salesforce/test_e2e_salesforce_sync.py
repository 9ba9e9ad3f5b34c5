"""End to end through the sandbox: full read, plan + apply with core, idempotence, incremental, failures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from salesforce_e2e_support import PLAYBOOK, Clock, connect, plugin_tasks, rows, start_org, sync
from simple_salesforce.format import format_soql

from connectors.base import ConfigurationError
from connectors.salesforce import soql
from sandbox.salesforce import SalesforceSandbox, metadata_soap
from sandbox.salesforce.testing import password_login


@pytest.fixture
def org() -> Iterator[tuple[SalesforceSandbox, Clock]]:
    box, clock = start_org(deals=60)
    connect(box).setup(PLAYBOOK, dry_run=False)
    yield box, clock
    box.stop()


def test_given_a_deal_query_of_many_pages_when_paged_then_its_pages_come_five_to_a_call(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, _ = org
    sf = connect(box, query_batch_size=200)
    everything = soql.full_read(sf.schema(), sf._api.config.field_names())
    raw = sf._api.sf  # simple-salesforce itself: one call per page
    page = raw.query(everything, include_deleted=True, headers={"Sforce-Query-Options": "batchSize=200"})
    pages = 1
    while not page["done"]:
        page = raw.query_more(page["nextRecordsUrl"], identifier_is_url=True,
                              headers={"Sforce-Query-Options": "batchSize=200"})
        pages += 1
    before = sf.api_calls()

    read = [r["Id"] for page in sf._api.pages(everything, include_deleted=True) for r in page]

    calls = sf.api_calls() - before
    assert pages > 6  # the book needs several calls' worth of pages at 200 rows a page
    assert sorted(read) == sorted(r["Id"] for r in rows(box, "Opportunity"))
    assert (calls["query"], calls["query_more"]) == (1, 0)
    assert calls["composite_query_more"] == -(-(pages - 1) // 5)


def test_given_a_generated_book_when_read_in_full_then_every_opportunity_comes_once_in_bounded_chunks(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    sf = connect(box, chunk_size=25)

    chunks = list(sf.read_deals(None, clock.now))

    ids = [d.id for chunk in chunks for d in chunk]
    assert sorted(ids) == sorted(r["Id"] for r in rows(box, "Opportunity"))
    assert max(len(c) for c in chunks) <= 25
    tasks_events = Counter(r["WhatId"] for t in ("Task", "Event") for r in rows(box, t))
    deals = {d.id: d for chunk in chunks for d in chunk}
    assert all(len(d.activities) == tasks_events[d.id] for d in deals.values())
    assert sum(len(d.contacts) for d in deals.values()) > 60
    assert sf.api_calls()["query"] + sf.api_calls()["query_more"] < 40


def test_given_a_synced_org_when_synced_again_then_nothing_is_written_and_no_task_is_duplicated(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    first = sync(connect(box), clock.now)
    box.app.reset_calls()

    second = sync(connect(box), clock.advance(minutes=5))

    assert first.result.deals_updated == 60
    assert not first.result.failures
    assert len(first.result.tasks_created) == len([t for t in plugin_tasks(box)])
    assert second.non_empty == []
    assert box.app.calls["composite_update"] == box.app.calls["composite_create"] == 0
    open_keys = Counter(t["Commitment_Key__c"] for t in plugin_tasks(box) if not t["IsClosed"])
    assert set(open_keys.values()) == {1}
    stored = box.store.get(first.deals[0].id)
    assert stored is not None
    assert stored["Commitment_Score__c"] == first.plans[0].values.score


def _change(box: SalesforceSandbox, kind: str) -> str:
    """Change one child record through the API the way a rep's tools would; return its opportunity id."""
    admin = password_login(box.credentials)
    if kind == "event_canceled":
        event = next(r for r in rows(box, "Event") if r["WhatId"])
        admin.Event.update(event["Id"], {"Subject": "Canceled: " + event["Subject"]})
        return str(event["WhatId"])
    if kind == "contact_role_removed":
        role = next(r for r in rows(box, "OpportunityContactRole") if r["Role"])
        admin.OpportunityContactRole.delete(role["Id"])
        return str(role["OpportunityId"])
    if kind == "invitee_declined":  # only the invitee's EventRelation row changes, not the event
        relation = next(r for r in rows(box, "EventRelation") if str(r["RelationId"]).startswith("003"))
        admin.EventRelation.update(relation["Id"], {"Status": "Declined"})
        return str(box.store.get(relation["EventId"])["WhatId"])  # type: ignore[index]
    deal_id = sorted(r["Id"] for r in rows(box, "Opportunity"))[7]
    admin.Task.create(
        {"WhatId": deal_id, "Subject": "Call logged", "Status": "Completed", "TaskSubtype": "Call"}
    )
    return deal_id


@pytest.mark.parametrize(
    "kind", ["event_canceled", "contact_role_removed", "call_logged", "invitee_declined"]
)
def test_given_a_child_record_changes_when_reading_incrementally_then_exactly_that_deal_returns(
    org: tuple[SalesforceSandbox, Clock], kind: str
) -> None:
    box, clock = org
    sync(connect(box), clock.now)
    since = clock.advance(hours=1)
    clock.advance(minutes=30)
    changed = _change(box, kind)

    chunks = list(connect(box).read_deals(since, clock.advance(minutes=1)))

    assert [d.id for chunk in chunks for d in chunk] == [changed]


def test_given_a_contact_without_a_role_at_a_held_meeting_when_read_then_they_met_the_buyer_until_declining(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    admin = password_login(box.credentials)
    deal_id = sorted(r["Id"] for r in rows(box, "Opportunity"))[3]
    contact = admin.Contact.create({"FirstName": "Nia", "LastName": "Stone"})["id"]
    held = (clock.now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    ended = (clock.now - timedelta(days=2, hours=-1)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    event = admin.Event.create({"WhatId": deal_id, "Subject": "Pilot review", "StartDateTime": held,
                                "EndDateTime": ended, "DurationInMinutes": 60})["id"]
    relation = admin.EventRelation.create(
        {"EventId": event, "RelationId": contact, "IsInvitee": True, "Status": "Accepted"}
    )["id"]

    (met,) = [d for chunk in connect(box).read_deals(None, clock.now) for d in chunk if d.id == deal_id]
    since = clock.advance(minutes=30)
    clock.advance(minutes=30)
    admin.EventRelation.update(relation, {"Status": "Declined"})
    (declined,) = [d for chunk in connect(box).read_deals(since, clock.advance(minutes=1)) for d in chunk]

    assert ("Nia Stone", ()) in [(c.name, c.roles) for c in met.contacts if c.id == contact]
    assert [a.attendee_ids for a in met.activities if a.id == event] == [(contact,)]
    assert declined.id == deal_id
    assert contact not in {c.id for c in declined.contacts}
    assert [a.attendee_ids for a in declined.activities if a.id == event] == [()]


def _a_connected_call(box: SalesforceSandbox) -> tuple[Any, str, str, str, str]:
    """A connected call logged on a deal with its contact (a role) as WhoId, and a new contact without a role:
    the admin's session, the deal, that role's contact, the new contact and the call."""
    admin = password_login(box.credentials)
    deal_id = sorted(r["Id"] for r in rows(box, "Opportunity"))[3]
    role = next(r["ContactId"] for r in rows(box, "OpportunityContactRole") if r["OpportunityId"] == deal_id)
    contact = admin.Contact.create({"FirstName": "Ravi", "LastName": "Odum"})["id"]
    call = admin.Task.create({
        "WhatId": deal_id, "WhoId": role, "Subject": "Pricing call", "Status": "Completed",
        "TaskSubtype": "Call", "CallDisposition": "Connected",
    })["id"]
    return admin, deal_id, role, contact, call


def test_given_a_call_logged_with_a_contact_without_a_role_when_read_then_they_were_on_the_call(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    admin, deal_id, role, contact, call = _a_connected_call(box)
    since = clock.advance(minutes=30)
    clock.advance(minutes=30)
    admin.TaskRelation.create({"TaskId": call, "RelationId": contact})

    (deal,) = [d for chunk in connect(box).read_deals(since, clock.advance(minutes=1)) for d in chunk]

    assert deal.id == deal_id  # relating a contact modified the task
    assert [a.attendee_ids for a in deal.activities if a.id == call] == [(role, contact)]
    assert ("Ravi Odum", ()) in [(c.name, c.roles) for c in deal.contacts if c.id == contact]


def test_given_a_contact_taken_off_a_call_when_read_incrementally_then_the_call_was_with_its_who_alone(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    admin, deal_id, role, contact, call = _a_connected_call(box)
    relation = admin.TaskRelation.create({"TaskId": call, "RelationId": contact})["id"]
    since = clock.advance(minutes=30)
    clock.advance(minutes=30)
    admin.TaskRelation.delete(relation)

    (deal,) = [d for chunk in connect(box).read_deals(since, clock.advance(minutes=1)) for d in chunk]

    assert deal.id == deal_id  # taking a contact off modified the task, as relating one does
    assert [a.attendee_ids for a in deal.activities if a.id == call] == [(role,)]
    assert admin.Task.get(call)["WhoCount"] == 1


@pytest.mark.parametrize("bulk_threshold", [2000, 10], ids=["composite", "bulk"])
def test_given_a_locked_record_when_applying_then_it_is_reported_and_the_rest_are_written(
    org: tuple[SalesforceSandbox, Clock], bulk_threshold: int
) -> None:
    box, clock = org
    locked = sorted(r["Id"] for r in rows(box, "Opportunity"))[3]
    box.store.fail_record_ids.add(locked)

    run = sync(connect(box, bulk_threshold=bulk_threshold, bulk_wait_seconds=0), clock.now)
    box.store.fail_record_ids.clear()
    retry = sync(connect(box), clock.advance(hours=1), since=clock.now, include_ids=(locked,))

    assert [(f.deal_id, f.code) for f in run.result.failures if f.operation == "update"] == [
        (locked, "UNABLE_TO_LOCK_ROW")
    ]
    assert run.result.deals_updated == 59
    assert [p.deal_id for p in retry.non_empty if p.changed] == [locked]
    assert retry.result.deals_updated == 1


def test_given_an_admin_deleted_an_owned_field_when_syncing_then_one_error_says_to_run_setup(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    sync(connect(box), clock.now)
    assessed = {r["Id"]: r.get("Commitments_Assessed_At__c") for r in rows(box, "Opportunity")}
    metadata_soap.delete(box.store, "CustomField", ["Opportunity.Commitment_Score__c"])  # in Setup

    with pytest.raises(ConfigurationError, match="run `commitments setup`") as raised:
        sync(connect(box), clock.advance(hours=1))

    assert "Opportunity.Commitment_Score__c" in str(raised.value)
    assert {r["Id"]: r.get("Commitments_Assessed_At__c") for r in rows(box, "Opportunity")} == assessed


def test_given_more_updates_than_the_bulk_threshold_when_applying_then_bulk_api_writes_them(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org

    run = sync(connect(box, bulk_threshold=10, bulk_wait_seconds=0), clock.now)

    assert run.result.deals_updated == 60
    assert box.app.calls["bulk2_create"] == 1
    assert sync(connect(box), clock.advance(minutes=5)).non_empty == []


def test_given_activities_archived_a_year_on_when_reading_then_old_meetings_and_plugin_tasks_still_count(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    sync(connect(box), clock.now)
    admin = password_login(box.credentials)
    for task in plugin_tasks(box):  # the reps completed every plugin task
        admin.Task.update(task["Id"], {"Status": "Completed"})
    role = next(iter(rows(box, "OpportunityContactRole")))
    admin.OpportunityContactRole.delete(role["Id"])  # in the recycle bin: queryAll sees it, a deal must not
    before = {d.id: d for chunk in connect(box).read_deals(None, clock.now) for d in chunk}
    clock.advance(days=400)

    archived = box.store.archive_old_activities(365)  # what a real org does to year-old activities
    full = {d.id: d for chunk in connect(box).read_deals(None, clock.now) for d in chunk}
    some = sorted(before)[:5]
    incremental = connect(box).read_deals(clock.now, clock.now, include_ids=some)
    hydrated = {d.id: d for chunk in incremental for d in chunk}

    assert archived > len(plugin_tasks(box)) > 0
    # the deleted role is gone; the contact may still be on the deal, without it, as a meeting's attendee
    on_deal = {c.id: c for c in full[role["OpportunityId"]].contacts}
    assert role["ContactId"] not in on_deal or role["Role"] not in on_deal[role["ContactId"]].roles
    for deals in (full, hydrated):
        assert {i: [a.id for a in d.activities] for i, d in deals.items()} == {
            i: [a.id for a in before[i].activities] for i in deals
        }
        assert {i: d.plugin_tasks for i, d in deals.items()} == {i: before[i].plugin_tasks for i in deals}


def test_given_a_user_invited_to_a_meeting_when_reading_then_its_child_event_is_not_a_second_meeting(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    meeting = next(e for e in rows(box, "Event") if e["WhatId"])
    fields = {k: v for k, v in meeting.items() if k not in ("Id", "IsDeleted", "SystemModstamp")}
    # What Shared Activities adds for a Salesforce-user invitee: a copy of the event on their calendar.
    child = box.store.insert("Event", {**fields, "IsChild": True})

    deals = {d.id: d for chunk in connect(box).read_deals(None, clock.now) for d in chunk}
    read = [a.id for a in deals[meeting["WhatId"]].activities]

    assert meeting["Id"] in read
    assert child["Id"] not in read


def test_given_task_keys_in_any_case_when_queried_then_the_external_id_index_finds_what_a_scan_finds(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    sync(connect(box), clock.now)
    keys = sorted(t["Commitment_Key__c"] for t in plugin_tasks(box))[:3]
    asked = [keys[0].upper(), keys[1], "cmt:none:time"]  # SOQL compares text ignoring case

    found = password_login(box.credentials).query_all(
        format_soql("SELECT Id FROM Task WHERE Commitment_Key__c IN {} AND IsDeleted = false", asked)
    )["records"]

    expected = {t["Id"] for t in plugin_tasks(box) if t["Commitment_Key__c"] in keys[:2]}
    assert {r["Id"] for r in found} == expected
    assert len(expected) == 2


def test_given_nothing_changed_since_the_watermark_when_a_fresh_connector_runs_then_it_makes_three_calls(
    org: tuple[SalesforceSandbox, Clock],
) -> None:
    box, clock = org
    synced_at = clock.now
    sync(connect(box), synced_at)
    box.app.reset_calls()
    used = box.store.org["api_used"]

    sf = connect(box)  # each worker run has a connector of its own, which discovers the org again
    chunks = list(sf.read_deals(synced_at + timedelta(minutes=30), clock.advance(hours=1)))

    assert chunks == []
    assert sf.api_calls() == {"login": 1, "composite_describe": 1, "composite_query": 2}
    assert dict(box.app.calls) == {"login_soap": 1, "composite": 3}
    assert box.store.org["api_used"] == used + 3
