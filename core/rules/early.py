"""Rules for the first five commitments: time, explore, change, collaborate, consensus.

Each is a small pure function of a prepared `DealContext` returning a `Finding`, following DESIGN.md's
default signals table. Canceled and no-show meetings never reach a rule (the context drops them); a held
meeting none of whose attendees is a contact on the deal is only the rep's assertion.
"""

from __future__ import annotations

from core.models import Activity, ActivityKind, Commitment
from core.rules.context import DealContext, clip, normalise_role, normalised_roles
from core.rules.findings import (
    ASSERTED,
    NOTHING,
    OBSERVED,
    PARTIAL,
    SCHEDULED,
    SECURED,
    TEXT,
    Finding,
    activity_evidence,
    evidence,
    finding,
    found_in,
    generic_grade,
    held_back,
    quoted,
    stage_evidence,
    text_evidence,
    when,
)

TIME, EXPLORE, CHANGE = Commitment.TIME, Commitment.EXPLORE, Commitment.CHANGE
MEETING = ActivityKind.MEETING
COLLABORATE, CONSENSUS = Commitment.COLLABORATE, Commitment.CONSENSUS


def time_rule(ctx: DealContext) -> Finding:
    """A held meeting or connected call with a buyer contact secures; a future one or the stage is partial."""
    if ctx.held_buyer:
        first = ctx.held_buyer[0]
        return finding(
            SECURED,
            [activity_evidence(OBSERVED, first, TIME)],
            f"held {first.kind} {quoted(first)} on {when(first)} with {ctx.buyers_at(first)}",
        )
    stage = stage_evidence(ctx, TIME)
    if ctx.scheduled:
        meeting = ctx.scheduled[0]
        return finding(
            PARTIAL,
            [activity_evidence(SCHEDULED, meeting, TIME), stage],
            f"{meeting.kind} {quoted(meeting)} is scheduled for {when(meeting)}, none held yet",
        )
    if ctx.held_rep_only:
        logged = ctx.held_rep_only[0]
        return finding(
            PARTIAL,
            [activity_evidence(ASSERTED, logged, TIME), stage],
            f"{logged.kind} {quoted(logged)} was logged as held, but no contact on the deal attended",
        )
    if stage is not None:
        return finding(
            PARTIAL, [stage], "the stage expects a first meeting, but none with a buyer contact is logged"
        )
    return finding(NOTHING, [], "no meeting or connected call with a buyer contact yet")


def explore_rule(ctx: DealContext) -> Finding:
    """A held discovery meeting, or a second held meeting, with the buyer secures; pain or stage help."""
    discovery = ctx.first_activity_hit("discovery", ctx.held_buyer)
    if discovery is not None:
        meeting = discovery[0]
        return finding(
            SECURED,
            [activity_evidence(OBSERVED, meeting, EXPLORE)],
            f"held discovery {meeting.kind} {quoted(meeting)} on {when(meeting)} "
            f"with {ctx.buyers_at(meeting)}",
        )
    # Without discovery words, a second meeting is what shows the buyer agreed to explore: a call besides
    # the first meeting (a check-in, a scheduling call) is no such agreement.
    needed = ctx.playbook.thresholds.explore_min_meetings
    meetings = [a for a in ctx.held_buyer if a.kind is MEETING]
    if len(meetings) >= needed:
        meeting = meetings[needed - 1]
        return finding(
            SECURED,
            [activity_evidence(OBSERVED, meeting, EXPLORE)],
            f"{len(meetings)} meetings held with buyer contacts (#{needed} on {when(meeting)})",
        )
    pain = ctx.first_text_hit("pain")
    stage = stage_evidence(ctx, EXPLORE)
    found = [text_evidence(TEXT, *pain, EXPLORE) if pain else None, stage]
    grade = generic_grade(found)
    if grade is SECURED:
        reason = "pain is noted on the deal and the stage expects discovery"
    elif pain is not None:
        reason = f"pain is noted in {found_in(pain[0])}, but no discovery meeting with a buyer has been held"
    elif stage is not None:
        reason = f"the stage expects discovery, but no discovery meeting or {needed} buyer meetings logged"
    else:
        reason = f"no discovery meeting or call with a buyer yet, and fewer than {needed} buyer meetings held"
    return finding(grade, found, reason)


def change_rule(ctx: DealContext) -> Finding:
    """A compelling event or business case noted, with the stage past discovery, secures, unless a setback
    ("project on hold") was noted after it."""
    hit = ctx.first_text_hit("change")
    stage = stage_evidence(ctx, CHANGE)
    found = [text_evidence(TEXT, *hit, CHANGE) if hit else None, stage]
    grade = generic_grade(found)
    if grade is SECURED:
        reason = "a reason to change is noted on the deal and the stage is past discovery"
        return held_back(ctx, CHANGE, ("change",), finding(grade, found, reason))
    if hit is not None:
        reason = (
            f"a reason to change is noted in {found_in(hit[0])}, but the stage has not moved past discovery"
        )
    elif stage is not None:
        reason = "the stage expects it, but no compelling event or business case is noted on the deal"
    else:
        reason = "no compelling event or business case noted yet"
    return finding(grade, found, reason)


def collaborate_rule(ctx: DealContext) -> Finding:
    """A held workshop, 2+ working meetings with buyer contacts, or line items secure."""
    # A meeting that won Explore ("discovery workshop") is not also the collaboration.
    candidates = [m for m in ctx.held_buyer if m.kind is MEETING and not ctx.matches("discovery", m)]
    workshop = ctx.first_activity_hit("workshop", candidates)
    if workshop is not None:
        meeting = workshop[0]
        return finding(
            SECURED,
            [activity_evidence(OBSERVED, meeting, COLLABORATE)],
            f"held working session {quoted(meeting)} on {when(meeting)} with {ctx.buyers_at(meeting)}",
        )
    # Working meetings: held buyer meetings after the first (the introduction) that are not discovery. The
    # first meeting is left out even when a call came before it and won time: it is still an introduction.
    first = next((m for m in ctx.held_buyer if m.kind is MEETING), None)
    working = [m for m in candidates if m is not first]
    needed = ctx.playbook.thresholds.collaborate_min_meetings
    if len(working) >= needed:
        return finding(
            SECURED,
            [activity_evidence(OBSERVED, working[needed - 1], COLLABORATE)],
            f"{len(working)} working meetings held with buyer contacts",
        )
    items = ctx.deal.line_items
    if items:
        return finding(
            SECURED,
            [
                evidence(
                    OBSERVED,
                    "line_item",
                    COLLABORATE,
                    items[0].name or "line item",
                    items[0].id,
                    items[0].created_at,
                )
            ],
            f"{len(items)} line item{'s' if len(items) > 1 else ''} shaped with the buyer on the deal",
        )
    return _collaborate_partial(ctx, working, needed)


def _collaborate_partial(ctx: DealContext, working: list[Activity], needed: int) -> Finding:
    text = ctx.first_text_hit("workshop")
    stage = stage_evidence(ctx, COLLABORATE)
    planned = ctx.first_activity_hit("workshop", ctx.scheduled)
    found = [
        activity_evidence(OBSERVED, working[0], COLLABORATE) if working else None,
        text_evidence(TEXT, *text, COLLABORATE) if text else None,
        activity_evidence(SCHEDULED, planned[0], COLLABORATE) if planned else None,
        stage,
    ]
    present = [e for e in found if e is not None]
    grade = SECURED if stage is not None and text is not None else PARTIAL if present else NOTHING
    if grade is SECURED:
        reason = "solution work is noted on the deal and the stage expects collaboration"
    elif working:
        held = f"{len(working)} working meeting{'s' if len(working) > 1 else ''}"
        reason = f"only {held} held with buyer contacts; need {needed}, a workshop or line items"
    elif text is not None:
        reason = f"solution work is noted in {found_in(text[0])}, but no workshop or working meeting is held"
    elif planned is not None:
        reason = f"workshop {quoted(planned[0])} is scheduled for {when(planned[0])} but not held yet"
    elif stage is not None:
        reason = "the stage expects collaboration, but no workshop, working meetings or line items are logged"
    else:
        reason = "no workshop, working meetings or line items yet"
    return finding(grade, found, reason)


def consensus_rule(ctx: DealContext) -> Finding:
    """3+ engaged buyer contacts incl. a decision role secure; 2 are partial; 1 is nothing."""
    thresholds = ctx.playbook.thresholds
    need = thresholds.consensus_min_contacts
    engaged = ctx.engaged_contacts()
    decision_roles = normalised_roles(ctx.playbook.roles.decision)
    deciders = [c for c in engaged if not decision_roles.isdisjoint(normalised_roles(c.roles))]
    stage = stage_evidence(ctx, CONSENSUS)
    count = len(engaged)
    if count >= thresholds.consensus_partial_contacts:
        lead = deciders[0] if deciders else engaged[0]
        names = ", ".join(_who(c.name or c.id, c.roles) for c in engaged[:4])
        contacts = evidence(OBSERVED, "contact_role", CONSENSUS, f"{count} engaged: {names}", lead.id)
        if count >= need and deciders:
            role = next((r for r in lead.roles if normalise_role(r) in decision_roles), "decision role")
            return finding(
                SECURED,
                [contacts],
                f"{count} engaged buyer contacts incl. {clip(lead.name or lead.id, 50)} ({role})",
            )
        if count >= need:
            reason = (
                f"{count} engaged buyer contacts, but none is a decision maker, economic buyer or sponsor"
            )
        else:
            reason = f"only {count} engaged buyer contacts; need {need} incl. a decision maker"
        return finding(PARTIAL, [contacts, stage], reason)
    plural = "" if count == 1 else "s"
    engaged_text = f"only {count} engaged buyer contact{plural}" if count else "no engaged buyer contacts"
    reason = f"{engaged_text} on the deal; need {need} incl. a decision maker"
    return finding(PARTIAL if stage else NOTHING, [stage], reason)


def _who(name: str, roles: tuple[str, ...]) -> str:
    return f"{name} ({roles[0]})" if roles else name
