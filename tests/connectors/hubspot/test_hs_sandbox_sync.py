"""Full and incremental syncs through the sandbox: read, core's assess and plan, apply; then nothing twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from math import ceil
from typing import Any

import pytest
from hubspot_support import FakeClock, connector_for, deal_props, deal_task_keys, read_all, sync

from connectors.base import ConfigurationError, DealChunk
from connectors.hubspot import read as read_module
from connectors.hubspot.read import CHANGE_SOURCES
from core.assess import assess
from core.models import Commitment, CommitmentStatus, Deal, OwnedField, OwnedFields, TaskActionKind, WritePlan
from core.playbook import Playbook
from sandbox.hubspot import HubSpotSandbox, start_hubspot_sandbox
from sandbox.hubspot.schema import CALL_CONNECTED

WRITES = ("objects.batch_update", "objects.batch_create", "objects.update", "objects.create")


def test_given_provisioned_portal_when_full_sync_then_changed_fields_and_tasks_written(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    connector = connector_for(portal)
    connector.setup(playbook, dry_run=False)
    outcome = sync(connector, playbook, None, clock.now)
    assert len(outcome.deals) == 60
    assert outcome.result.failures == []
    changed = [p for p in outcome.plans if p.changed]
    creates = [a for p in outcome.plans for a in p.tasks if a.kind is TaskActionKind.CREATE]
    assert outcome.result.deals_updated == len(changed) == 60
    assert sorted(t.key for t in outcome.result.tasks_created) == sorted(a.key for a in creates)
    assert creates, "the generated book has open deals, each needing a task for its next commitment"
    calls = connector.api_calls()
    assert calls["batch_update"] == ceil(len(changed) / 100)
    assert calls["list"] == 1
    sample = changed[0]
    props = deal_props(portal, sample.deal_id)
    assert props["commitments_secured"] == ";".join(c.value for c in sample.values.secured or ())
    for action in creates:
        assert deal_task_keys(portal, action.deal_id) == [action.key]


def test_given_synced_portal_when_second_run_then_nothing_written(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    connector_for(portal).setup(playbook, dry_run=False)
    sync(connector_for(portal), playbook, None, clock.now)
    portal.app.reset_calls()
    again = sync(connector_for(portal), playbook, None, clock.advance(minutes=5))
    assert again.non_empty == []
    assert not any(portal.app.calls[name] for name in WRITES)
    assert all(d.current.score is not None for d in again.deals)


def test_given_synced_portal_when_a_meeting_changes_then_incremental_run_returns_exactly_its_deal(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    connector_for(portal).setup(playbook, dry_run=False)
    first_start = clock.now
    sync(connector_for(portal), playbook, None, first_start)
    # The next run still sees the deals the first run wrote (its own writes bump hs_lastmodifieddate after
    # the watermark) and plans nothing for them; the run after that is idle.
    second_start = clock.advance(hours=1)
    assert sync(connector_for(portal), playbook, first_start, second_start).non_empty == []
    third_start = clock.advance(hours=1)
    idle = connector_for(portal)
    assert read_all(idle, second_start, third_start) == []
    assert sum(idle.api_calls().values()) <= 1 + len(CHANGE_SOURCES)  # one search per source, deals too
    deal_id = next(iter(portal.store.tables["deals"]))
    meeting_id = next(iter(portal.store.associated("deals", deal_id, "meetings")))
    clock.advance(minutes=5)
    portal.store.update("meetings", meeting_id, {"hs_meeting_outcome": "CANCELED"})
    changed = read_all(connector_for(portal), third_start, clock.advance(minutes=5))
    assert [d.id for d in changed] == [deal_id]
    meeting = next(a for a in changed[0].activities if a.id == meeting_id)
    assert meeting.status.value == "canceled"


def _synced_and_idle(portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock) -> datetime:
    """Sync the portal, let the run after it reread what the first wrote, and return the watermark after
    which nothing has changed."""
    connector_for(portal).setup(playbook, dry_run=False)
    first_start = clock.now
    sync(connector_for(portal), playbook, None, first_start)
    watermark = clock.advance(hours=1)
    sync(connector_for(portal), playbook, first_start, watermark)
    clock.advance(minutes=5)
    return watermark


WATCHING = {"also_watch": ("quotes", "buying_roles")}


def test_given_a_quote_whose_status_changes_when_read_incrementally_then_exactly_its_deal_comes_back(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    store = portal.store
    deal_id = next(d for d in store.tables["deals"] if not store.associated("deals", d, "quotes"))
    draft = {"hs_title": "Proposal", "hs_status": "DRAFT", "hs_quote_status": "DRAFT"}
    quote_id = store.insert("quotes", draft)["id"]
    store.associate("deals", deal_id, "quotes", quote_id, ())
    watermark = _synced_and_idle(portal, playbook, clock)

    # Publishing a quote edits the quote alone: the deal's own hs_lastmodifieddate does not move.
    store.update("quotes", quote_id, {"hs_status": "APPROVAL_NOT_NEEDED", "hs_quote_status": "PUBLISHED"})
    unwatched = read_all(connector_for(portal), watermark, clock.advance(minutes=5))
    changed = read_all(connector_for(portal, **WATCHING), watermark, clock.now)

    assert unwatched == []  # by default the nightly full run brings it
    assert [d.id for d in changed] == [deal_id]
    results = assess(changed[0], playbook, clock.now).results
    review = next(r for r in results if r.commitment is Commitment.REVIEW)
    assert review.status is CommitmentStatus.SECURED, review.reason


def test_given_a_contact_whose_buying_role_changes_when_read_incrementally_then_its_deals_come_back(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    watermark = _synced_and_idle(portal, playbook, clock)
    deal_id, contact_id = next(
        (deal, contact)
        for deal in portal.store.tables["deals"]
        for contact in portal.store.associated("deals", deal, "contacts")
        if not portal.store.tables["contacts"][contact]["properties"].get("hs_buying_role")
    )
    deals_of_contact = sorted(portal.store.associated("contacts", contact_id, "deals"))

    portal.store.update("contacts", contact_id, {"hs_buying_role": "BUDGET_HOLDER"})
    changed = read_all(connector_for(portal, **WATCHING), watermark, clock.advance(minutes=5))

    assert sorted(d.id for d in changed) == deals_of_contact
    roles = {c.id: c.roles for c in next(d for d in changed if d.id == deal_id).contacts}
    assert "Economic Buyer" in roles[contact_id]  # a budget holder is the economic buyer


def test_given_a_contact_without_a_buying_role_edited_when_read_incrementally_then_no_deal_comes_back(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    watermark = _synced_and_idle(portal, playbook, clock)
    contact_id = next(
        c for c, row in portal.store.tables["contacts"].items() if not row["properties"].get("hs_buying_role")
    )

    # Marketing tools edit contacts all day; one without a buying role changes nothing the rules read.
    portal.store.update("contacts", contact_id, {"jobtitle": "Head of Ops"})
    connector = connector_for(portal, **WATCHING)

    assert read_all(connector, watermark, clock.advance(minutes=5)) == []
    assert connector.api_calls()["search"] == 1 + len(CHANGE_SOURCES) + 2  # one search per watched type


def test_given_a_meeting_with_a_contact_not_on_its_deal_when_read_then_they_are_on_the_deal_without_a_role(
    portal: HubSpotSandbox, clock: FakeClock
) -> None:
    deal_id, meeting_id = next(  # a held meeting: who was only invited to one is not met
        (deal, meeting)
        for deal in portal.store.tables["deals"]
        for meeting in portal.store.associated("deals", deal, "meetings")
        if portal.store.tables["meetings"][meeting]["properties"].get("hs_meeting_outcome") == "COMPLETED"
    )
    guest = portal.store.insert("contacts", {"firstname": "Nia", "lastname": "Stone"})["id"]
    portal.store.associate("meetings", meeting_id, "contacts", guest, ())

    connector = connector_for(portal)
    (deal,) = [d for d in read_all(connector, None, clock.now) if d.id == deal_id]

    assert guest not in portal.store.associated("deals", deal_id, "contacts")
    assert [(c.name, c.roles) for c in deal.contacts if c.id == guest] == [("Nia Stone", ())]
    assert guest in next(a for a in deal.activities if a.id == meeting_id).attendee_ids


def test_given_a_connected_call_with_a_contact_not_on_its_deal_when_read_then_the_call_was_with_a_buyer(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    deal_id = next(iter(portal.store.tables["deals"]))
    callee = portal.store.insert("contacts", {"firstname": "Ravi", "lastname": "Odum"})["id"]
    call = portal.store.insert("calls", {
        "hs_call_title": "Intro call", "hs_call_status": "COMPLETED", "hs_call_disposition": CALL_CONNECTED,
        "hs_timestamp": "2020-01-06T10:00:00.000Z",  # before anything else on the deal
    })["id"]
    portal.store.associate("deals", deal_id, "calls", call, ())
    portal.store.associate("calls", call, "contacts", callee, ())

    (deal,) = [d for d in read_all(connector_for(portal), None, clock.now) if d.id == deal_id]

    assert [(c.name, c.roles) for c in deal.contacts if c.id == callee] == [("Ravi Odum", ())]
    time = next(r for r in assess(deal, playbook, clock.now).results if r.commitment is Commitment.TIME)
    assert time.reason == 'held call "Intro call" on 2020-01-06 with Ravi Odum'


def test_given_a_contact_only_invited_to_a_meeting_to_come_when_read_then_they_are_not_read_nor_on_the_deal(
    portal: HubSpotSandbox, clock: FakeClock
) -> None:
    deal_id = next(iter(portal.store.tables["deals"]))
    meeting_id = portal.store.insert("meetings", {
        "hs_meeting_title": "Workshop", "hs_meeting_outcome": "SCHEDULED",
        "hs_meeting_start_time": (clock.now.replace(microsecond=0) + timedelta(days=7)).isoformat(),
    })["id"]
    portal.store.associate("deals", deal_id, "meetings", meeting_id, ())
    baseline = connector_for(portal)
    read_all(baseline, None, clock.now)
    guest = portal.store.insert("contacts", {"firstname": "Nia", "lastname": "Stone"})["id"]
    portal.store.associate("meetings", meeting_id, "contacts", guest, ())

    connector = connector_for(portal)
    (deal,) = [d for d in read_all(connector, None, clock.now) if d.id == deal_id]

    assert guest in next(a for a in deal.activities if a.id == meeting_id).attendee_ids
    assert guest not in {c.id for c in deal.contacts}
    assert connector.api_calls()["batch_read"] == baseline.api_calls()["batch_read"]


def test_given_include_ids_when_incremental_run_then_those_deals_come_back_too(
    portal: HubSpotSandbox, clock: FakeClock
) -> None:
    wanted = sorted(portal.store.tables["deals"])[:3]
    since = clock.advance(hours=1)
    chunks = connector_for(portal).read_deals(since, clock.now, include_ids=wanted)
    deals = [deal for chunk in chunks for deal in chunk]
    assert sorted(d.id for d in deals) == wanted


def test_given_plans_when_applied_then_only_changed_owned_properties_are_written(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    connector = connector_for(portal)
    connector.setup(playbook, dry_run=False)
    deal = read_all(connector, None, clock.now)[0]
    before = deal_props(portal, deal.id)
    plan = WritePlan(
        deal_id=deal.id,
        values=OwnedFields(secured=(Commitment.TIME, Commitment.DECIDE), score=2),
        changed=frozenset({OwnedField.SECURED}),
    )
    result = connector.apply([plan], playbook)
    after = deal_props(portal, deal.id)
    assert (result.deals_updated, result.fields_written) == (1, 1)
    assert after["commitments_secured"] == "time;decide"
    assert after.get("commitment_score") == before.get("commitment_score")
    assert {k for k in after if after[k] != before.get(k)} <= {"commitments_secured", "hs_lastmodifieddate"}


def test_given_association_pages_of_two_when_read_then_same_deals_as_one_page(clock: FakeClock) -> None:
    read = {}
    for page_size in (2, 500):
        with start_hubspot_sandbox(deals=20, seed=7, clock=clock, association_page_size=page_size) as small:
            connector = connector_for(small)
            read[page_size] = read_all(connector, None, clock.now)
            calls = connector.api_calls()["assoc_read"]
    assert read[2] == read[500]
    assert any(len(d.activities) > 2 for d in read[2])
    # With pages of 500: one per related type, and one each for the meetings' and the calls' contacts; more
    # with pages of 2 (each input's `after`).
    assert calls == 10


def test_given_a_portal_not_provisioned_when_applying_then_one_error_says_to_run_setup(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    connector = connector_for(portal)

    with pytest.raises(ConfigurationError, match=r"run `commitments setup` to create them") as raised:
        sync(connector, playbook, None, clock.now)

    assert "commitments_secured" in str(raised.value)
    assert connector.api_calls()["batch_update"] == 1  # no bisecting: every record would fail alike


def test_given_a_deal_owner_hubspot_no_longer_has_when_synced_then_the_task_is_created_unassigned(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    # HubSpot refuses a task for an owner it no longer has (INVALID_OWNER_ID) on every run: without the
    # fallback such a deal never gets its task and every run reports the same failure.
    connector_for(portal).setup(playbook, dry_run=False)
    owners = portal.store.tables["owners"]
    gone = next(iter(owners))
    del owners[gone]

    outcome = sync(connector_for(portal), playbook, None, clock.now)

    assert outcome.result.failures == []
    orphaned = [
        a for p in outcome.plans for a in p.tasks if a.kind is TaskActionKind.CREATE and a.owner_id == gone
    ]
    assert orphaned, "the removed owner owns open deals that need a task"
    for action in orphaned:
        assert deal_task_keys(portal, action.deal_id) == [action.key]
        assert plugin_task_owner(portal, action.deal_id) is None
    creates = [a for p in outcome.plans for a in p.tasks if a.kind is TaskActionKind.CREATE]
    kept = next(a for a in creates if a.owner_id != gone)
    assert plugin_task_owner(portal, kept.deal_id) == kept.owner_id


def plugin_task_owner(portal: HubSpotSandbox, deal_id: str) -> str | None:
    store = portal.store
    tasks = [store.tables["tasks"][t]["properties"] for t in store.associated("deals", deal_id, "tasks")]
    (task,) = [t for t in tasks if "[commitments-key:" in (t.get("hs_task_body") or "")]
    return task.get("hubspot_owner_id") or None


def test_given_a_meeting_title_with_half_an_emoji_when_synced_then_every_deal_is_written(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    connector_for(portal).setup(playbook, dry_run=False)
    store = portal.store
    deal_id = sorted(store.tables["deals"])[0]
    contact_id = next(iter(store.associated("deals", deal_id, "contacts")))
    # A title cut at its length limit in the middle of an emoji: HubSpot sends the lone high surrogate.
    meeting = store.insert("meetings", {
        "hs_meeting_title": "Discovery call \ud83d", "hs_meeting_outcome": "COMPLETED",
        "hs_timestamp": "2026-01-05T10:00:00.000Z", "hs_meeting_start_time": "2026-01-05T10:00:00.000Z",
    })
    store.associate("deals", deal_id, "meetings", meeting["id"], [], bump=False)
    store.associate("meetings", meeting["id"], "contacts", contact_id, [], bump=False)

    outcome = sync(connector_for(portal), playbook, None, clock.now)

    assert outcome.result.failures == []
    assert outcome.result.deals_updated == len(outcome.deals) == 60
    deal = next(d for d in outcome.deals if d.id == deal_id)
    assert any(a.subject == "Discovery call \ufffd" for a in deal.activities)
    assert deal_props(portal, deal_id)["commitment_evidence"]


def test_given_a_deal_name_and_note_with_nul_characters_when_read_then_they_are_dropped(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock
) -> None:
    store = portal.store
    deal_id = sorted(store.tables["deals"])[0]
    store.tables["deals"][deal_id]["properties"]["dealname"] = "Acme\u0000 renewal"
    note = store.insert("notes", {"hs_note_body": "<p>Budget\u0000 approved</p>",
                                  "hs_timestamp": "2026-01-05T10:00:00.000Z"})
    store.associate("deals", deal_id, "notes", note["id"], [], bump=False)

    deal = next(d for d in read_all(connector_for(portal), None, clock.now) if d.id == deal_id)

    # PostgreSQL refuses a NUL in a text column: the state store could not record the run.
    assert deal.name == "Acme renewal"
    assert any(a.id == note["id"] and a.body == "Budget approved" for a in deal.activities)


def test_given_a_deal_its_mapping_cannot_read_when_read_then_it_is_reported_once_and_the_rest_is_read(
    portal: HubSpotSandbox, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = sorted(portal.store.tables["deals"])[3]
    real = read_module.deal_from_hubspot

    def mapping(bundle: dict[str, Any], context: Any) -> Deal:
        if str(bundle["deal"]["id"]) == odd:
            raise ValueError("year 10000 is out of range")  # as a value no mapping foresaw
        return real(bundle, context)

    monkeypatch.setattr(read_module, "deal_from_hubspot", mapping)

    chunks = list(connector_for(portal).read_deals(None, clock.now))

    assert all(isinstance(chunk, DealChunk) for chunk in chunks)
    failures = [f for chunk in chunks for f in chunk.unreadable]  # type: ignore[attr-defined]
    assert [(f.deal_id, f.operation, f.code) for f in failures] == [(odd, "read", "unreadable")]
    read = [d.id for chunk in chunks for d in chunk]
    assert len(read) == 59
    assert odd not in read
