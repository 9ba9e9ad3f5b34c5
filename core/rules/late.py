"""Rules for the last five commitments: invest, review, resolve, decide, execute.

Invest, resolve, decide and execute grade themselves where DESIGN.md's signals table departs from the
generic grading: invest needs an amount AND a sign of real investment, resolve needs the concerns worked
through after the proposal, decide needs closed won, execute needs a held kickoff after the close.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from functools import lru_cache
from typing import NamedTuple

from core.models import Activity, ActivityKind, Commitment, Deal, Evidence, QuoteStatus
from core.rules.context import DealContext, TextRecord, clip, close_day
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
    countered,
    day,
    evidence,
    finding,
    found_in,
    generic_grade,
    held_back,
    quote_evidence,
    quoted,
    stage_evidence,
    text_evidence,
    when,
)

INVEST, REVIEW, RESOLVE = Commitment.INVEST, Commitment.REVIEW, Commitment.RESOLVE
DECIDE, EXECUTE = Commitment.DECIDE, Commitment.EXECUTE
_SHOWN_QUOTES = frozenset({QuoteStatus.PRESENTED, QuoteStatus.ACCEPTED})
TASK = ActivityKind.TASK


@lru_cache(maxsize=256)
def _letters(value: str) -> str:
    """'Best Case' and 'BEST_CASE' both read 'bestcase' (a CRM has a handful of forecast categories)."""
    return "".join(ch for ch in value.lower() if ch.isalpha())


def _forecast_in(deal: Deal, categories: tuple[str, ...]) -> bool:
    """Whether the deal's forecast category is one of the playbook's `categories` (letters compared)."""
    category = deal.forecast_category
    return bool(category) and _letters(category or "") in categories


def invest_rule(ctx: DealContext) -> Finding:
    """Amount set AND (economic buyer, budget noted or held pilot) secures, unless a setback ("budget freeze")
    was noted after the last budget or pilot note; amount or forecast alone is partial."""
    deal = ctx.deal
    amount = None
    if deal.amount:
        shown = f"amount {deal.amount:,.0f}{' ' + deal.currency if deal.currency else ''}"
        amount = evidence(ASSERTED, "amount", INVEST, shown, deal.id)
    forecast = None
    if _forecast_in(deal, ctx.playbook.forecast.invested):
        forecast = evidence(ASSERTED, "forecast", INVEST, f"forecast {deal.forecast_category}", deal.id)
    sign, what = _invest_sign(ctx)
    stage = stage_evidence(ctx, INVEST)
    if amount is not None and what:
        # The sign secured it, not the amount (alone only partial): cite it first, as the CRM's evidence
        # line and a rep's summary show the first piece of evidence.
        secured = finding(SECURED, [sign, amount, forecast, stage], f"amount set and {what}")
        return held_back(ctx, INVEST, ("budget", "pilot"), secured)
    found = [amount, sign, forecast, stage]
    if amount is not None:
        reason = "the amount is set, but there is no economic buyer, budget note or held pilot"
    elif what:
        reason = f"{what}, but the deal has no amount"
    elif forecast is not None:
        reason = f"forecast moved to {deal.forecast_category}, but the deal has no amount or budget evidence"
    else:
        reason = "no amount, economic buyer, budget note or held pilot on the deal"
    return finding(PARTIAL if any(e is not None for e in found) else NOTHING, found, reason)


def _invest_sign(ctx: DealContext) -> tuple[Evidence | None, str]:
    """The first sign of real investment (economic buyer, budget noted, held pilot) and its wording."""
    economic = ctx.contacts_with_role(ctx.playbook.roles.economic)
    if economic:
        who = clip(economic[0].name or economic[0].id, 50)  # a name may hold a line break
        return evidence(OBSERVED, "contact_role", INVEST, f"{who}: economic buyer", economic[0].id), (
            f"{who} is on the deal as economic buyer"
        )
    budget = ctx.first_text_hit("budget")
    if budget is not None:
        return text_evidence(TEXT, *budget, INVEST), "budget is noted on the deal"
    pilot = ctx.first_activity_hit("pilot", ctx.held_buyer)
    if pilot is not None:
        held = pilot[0]
        return activity_evidence(OBSERVED, held, INVEST), f"pilot {quoted(held)} held on {when(held)}"
    return None, ""


def review_rule(ctx: DealContext) -> Finding:
    """A presented or accepted quote, or a held proposal review, secures; a draft or the stage is partial."""
    shown = [q for q in ctx.deal.quotes if q.status in _SHOWN_QUOTES]
    if shown:
        quote = shown[0]
        return finding(
            SECURED,
            [quote_evidence(OBSERVED, quote, REVIEW)],
            f"quote {clip(quote.name or quote.id, 50)} was presented to the buyer"
            + (" and accepted" if quote.status is QuoteStatus.ACCEPTED else ""),
        )
    meeting = ctx.first_activity_hit("proposal_review", ctx.held_buyer)
    if meeting is not None:
        held = meeting[0]
        return finding(
            SECURED,
            [activity_evidence(OBSERVED, held, REVIEW)],
            f"held proposal review {quoted(held)} on {when(held)} with buyer contacts",
        )
    drafts = [q for q in ctx.deal.quotes if q.status is QuoteStatus.DRAFT]
    text = ctx.first_text_hit("proposal_review")
    found = [
        quote_evidence(ASSERTED, drafts[0], REVIEW) if drafts else None,
        text_evidence(TEXT, *text, REVIEW) if text else None,
        stage_evidence(ctx, REVIEW),
    ]
    grade = generic_grade(found)
    if grade is SECURED:
        reason = "a proposal review is noted on the deal and the stage has reached the proposal"
    elif drafts:
        reason = "a quote is drafted, but it has not been presented or reviewed with the buyer"
    elif text is not None:
        reason = f"a proposal review is mentioned in {found_in(text[0])}, but no quote was presented"
    elif found[-1] is not None:
        reason = "the stage expects a proposal review, but no quote was presented and no review meeting held"
    else:
        reason = "no quote presented and no proposal review held yet"
    return finding(grade, found, reason)


def _proposal_at(ctx: DealContext) -> datetime | None:
    """When the proposal reached the buyer: first presented quote, proposal stage entry or review meeting."""
    times = [q.created_at for q in ctx.deal.quotes if q.status in _SHOWN_QUOTES and q.created_at]
    stage_map = ctx.playbook.stage_maps.get(ctx.deal.pipeline)
    if stage_map is not None:
        expects = stage_map.expected_by_stage
        times += [s.entered_at for s in ctx.deal.stage_history if REVIEW in expects.get(s.stage, ())]
    review = ctx.first_activity_hit("proposal_review", ctx.held_buyer)
    reviewed_at = _start_or_end(review[0]) if review is not None else None
    if reviewed_at is not None:
        times.append(reviewed_at)
    return min(times) if times else None


def _start_or_end(activity: Activity) -> datetime | None:
    return activity.start or activity.end


def _on_or_after(at: datetime | None, since: datetime | None) -> bool:
    return at is not None and since is not None and at >= since


def _held_positions(ctx: DealContext) -> set[int]:
    """Text positions of what took place: completed tasks, and meetings or calls held with a buyer."""
    texted = ctx.texted
    held = {i for i in ctx.evidence_positions if i < len(texted) and texted[i].kind is TASK}
    if ctx.held_buyer:
        record_index = ctx.record_index
        held.update(record_index[a.id] for a in ctx.held_buyer)
    return held


class _Resolution(NamedTuple):
    """A text noting the concerns resolved (a note) or a security or legal review held after the proposal."""

    record: TextRecord
    offset: int
    review: bool

    @property
    def at(self) -> tuple[int, int]:
        return self.record.position, self.offset

    def finding(self) -> Finding:
        record = self.record
        if self.review:
            reason = f"security or legal review completed on {day(record.at)}, after the proposal"
            return finding(SECURED, [text_evidence(OBSERVED, record, self.offset, RESOLVE)], reason)
        reason = f"concerns are noted as resolved in {found_in(record)}"
        reason += f" on {day(record.at)}" if record.at else ""
        return finding(SECURED, [text_evidence(TEXT, record, self.offset, RESOLVE)], reason)


def _resolved(ctx: DealContext, reviews: list[int]) -> Finding | None:
    """Secured by the first resolution (a note before a review), unless a new concern was noted after it:
    then by the first resolution after that concern (the latest note or review, whichever came first), and
    partial when there is none. Only dated texts count as new concerns: the deal description, undated, often
    recounts the deal's history ("the CFO raised concerns about pricing at the first call"). `reviews`: the
    positions of held activities after the proposal."""
    groups = ctx.playbook.keyword_groups

    def first(group: str, positions: Collection[int], review: bool) -> _Resolution | None:
        hit = ctx.first_record_hit(group, positions) if positions else None
        return None if hit is None else _Resolution(*hit, review)

    def last(group: str, positions: Collection[int], review: bool) -> _Resolution | None:
        hit = ctx.index.last(groups[group], positions) if positions else None
        return None if hit is None else _Resolution(ctx.record(hit[0]), hit[1], review)

    notes = ctx.evidence_positions
    earliest = first("concern_resolved", notes, False) or first("security_legal_review", reviews, True)
    if earliest is None:
        return None
    dated = [i for i in notes if i < len(ctx.texted)]
    concern = ctx.index.last(groups["new_concern"], dated)
    if concern is None or concern[:2] < earliest.at:
        return earliest.finding()  # the usual case: nothing raised after the first resolution
    latest = (last("concern_resolved", notes, False), last("security_legal_review", reviews, True))
    after = sorted((r for r in latest if r is not None and r.at > concern[:2]), key=lambda r: r.at)
    if after:
        return after[0].finding()
    return countered(earliest.finding(), RESOLVE, ctx.record(concern[0]), concern[1], concern[2],
                     "notes a new concern")


def resolve_rule(ctx: DealContext) -> Finding:
    """Concerns noted as resolved, or a completed security/legal review after the proposal, secure, unless a
    new concern was noted after them (and not noted as resolved, or reviewed, since)."""
    proposal_at = _proposal_at(ctx)
    # A review that took place: a completed task, or a meeting or connected call held with a buyer. A note,
    # an email or a meeting no buyer attended that names a review only mentions it ("review pending").
    held = _held_positions(ctx)
    later = [i for i in held if _on_or_after(_start_or_end(ctx.texted[i]), proposal_at)]
    resolved = _resolved(ctx, later)
    if resolved is not None:
        return resolved
    stage = stage_evidence(ctx, RESOLVE)
    review = ctx.first_record_hit("security_legal_review", held) if held else None
    if review is not None:
        if proposal_at is None:
            timing = "but no proposal is on record"
        else:
            timing = "before the proposal" if review[0].at is not None else "but its date is not recorded"
        return finding(
            PARTIAL,
            [text_evidence(TEXT, *review, RESOLVE), stage],
            f"a security or legal review is logged, {timing}; resolve concerns after the proposal",
        )
    # A note, an email or a completed activity; not the description (the last text, so the first hit is an
    # activity whenever one names a review), which records nothing that took place.
    mention = ctx.first_text_hit("security_legal_review")
    if mention is not None and mention[0].activity is not None:
        return finding(
            PARTIAL,
            [text_evidence(TEXT, *mention, RESOLVE), stage],
            f"a security or legal review is mentioned in {found_in(mention[0])}, but no completed security"
            " or legal review is logged after the proposal",
        )
    if stage is not None:
        return finding(PARTIAL, [stage], "the stage expects it, but no concern is noted as resolved")
    return finding(
        NOTHING, [], "no concerns noted as resolved and no security or legal review after a proposal"
    )


def decide_rule(ctx: DealContext) -> Finding:
    """Closed won secures; forecast category commit or an accepted quote is partial."""
    deal = ctx.deal
    if deal.is_won:
        closed = close_day(deal)  # the day it was won: reps often win before the close date they set
        on = f" on {closed.isoformat()}" if closed else ""
        return finding(
            SECURED,
            [evidence(OBSERVED, "deal", DECIDE, f"closed won{on}", deal.id, ctx.stage_entered_at)],
            f"the deal is closed won{on}",
        )
    commit = _forecast_in(deal, ctx.playbook.forecast.commit)
    accepted = [q for q in deal.quotes if q.status is QuoteStatus.ACCEPTED]
    found = [  # in the order the reason names them: the accepted quote first
        quote_evidence(OBSERVED, accepted[0], DECIDE) if accepted else None,
        evidence(ASSERTED, "forecast", DECIDE, f"forecast {deal.forecast_category}", deal.id)
        if commit
        else None,
        stage_evidence(ctx, DECIDE),
    ]
    if accepted:
        reason = "the buyer accepted a quote, but the deal is not closed won"
    elif commit:
        reason = f"forecast is {deal.forecast_category} (a verbal yes), but the deal is not closed won"
    else:
        reason = "the deal is not closed won"
    return finding(PARTIAL if any(e is not None for e in found) else NOTHING, found, reason)


def _after_close(close: date | None, activity: Activity) -> bool:
    at = activity.start or activity.end
    return close is None or (at is not None and at.date() >= close)


def execute_rule(ctx: DealContext) -> Finding:
    """A held kickoff or onboarding meeting after the close secures; a scheduled one is partial."""
    if not ctx.deal.is_won:
        return finding(NOTHING, [], "execution starts once the deal is won")
    close = close_day(ctx.deal)
    after = [a for a in ctx.held_buyer if _after_close(close, a)]
    kickoff = ctx.first_activity_hit("kickoff", after)
    if kickoff is not None:
        held = kickoff[0]
        return finding(
            SECURED,
            [activity_evidence(OBSERVED, held, EXECUTE)],
            f"held kickoff {quoted(held)} on {when(held)} with buyer contacts after the close",
        )
    planned = ctx.first_activity_hit("kickoff", [a for a in ctx.scheduled if _after_close(close, a)])
    logged = ctx.first_activity_hit("kickoff", [a for a in ctx.held_rep_only if _after_close(close, a)])
    found = [
        activity_evidence(SCHEDULED, planned[0], EXECUTE) if planned else None,
        activity_evidence(ASSERTED, logged[0], EXECUTE) if logged else None,
    ]
    if planned is not None:
        reason = f"kickoff {quoted(planned[0])} is scheduled for {when(planned[0])} but not held yet"
    elif logged is not None:
        reason = f"kickoff {quoted(logged[0])} was logged as held, but no contact on the deal attended it"
    else:
        reason = "no kickoff or onboarding meeting with the buyer held since the close"
    return finding(PARTIAL if planned or logged else NOTHING, found, reason)
