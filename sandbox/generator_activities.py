"""The activity timeline of one generated deal: milestone meetings, notes and emails per stage, plus noise.

`build_activities` places, for every stage the deal's *evidence* reached, that stage's milestone
activities (sandbox/generator_phrases.py) inside the time window the deal spent in that stage, then adds
everyday filler (follow-ups, voicemails, canceled and no-show meetings, open and done tasks) and, for an
open deal, the next meeting on the calendar. Completed activities are always in the past and scheduled
ones in the future relative to the book's `now`, so rules see a consistent picture.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sandbox.book import BookActivity
from sandbox.generator_phrases import FILLER, MILESTONES, Template

WON, LOST = 8, 9
MAX_ACTIVITIES = 40
T = TypeVar("T")
_MEETING_MINUTES = (30, 30, 45, 60, 60, 90)
_QUARTER_HOURS = (0, 15, 30, 45)
_EARLY_FILLER = tuple(t for t in FILLER if t.kind != "meeting")


@dataclass
class DealContext:
    """What the activity builder needs to know about the deal it fills."""

    rng: random.Random
    now: datetime
    owner_id: int
    owner_first: str
    company: str
    contact_ids: list[int]
    contact_firsts: list[str]
    product: str
    competitor: str
    body_cache: dict[tuple[str, str], str]


def build_activities(
    ctx: DealContext,
    windows: list[tuple[int, datetime, datetime]],
    evidence_stage: int,
    target: int,
    is_open: bool,
) -> list[BookActivity]:
    """Activities (ids unset: 0) for one deal, sorted by start.

    `windows` is (stage index, entered, left) for each stage of the deal's history; only stages up to
    `evidence_stage` get their milestones (a deal whose stage is ahead of its evidence has fewer).
    """
    rng = ctx.rng
    out: list[BookActivity] = []
    for stage, start, end in windows:
        if stage > evidence_stage and stage not in (WON, LOST):
            continue
        current = is_open and stage == windows[-1][0]
        if stage == WON:
            out.extend(_after_close(ctx, start))
            continue
        for template in MILESTONES[stage]:
            if current and template.kind == "meeting" and rng.random() < 0.3:
                # The current stage's key meeting is often still on the calendar.
                out.append(_make(ctx, template, _future(ctx), "scheduled"))
                continue
            if rng.random() < 0.12 and len(out) > 0:
                continue  # reps skip logging some things
            when = _between(rng, start, end)
            if template.kind == "meeting" and rng.random() < 0.08:
                missed = "canceled" if rng.random() < 0.5 else "no_show"
                out.append(_make(ctx, template, when - timedelta(days=_int(rng, 2, 6)), missed))
            out.append(_make(ctx, template, when, "completed"))
    if is_open and rng.random() < 0.7:
        # The meeting that would win the next commitment; past negotiation, just the regular sync.
        upcoming = MILESTONES[evidence_stage + 1] if evidence_stage < 7 else ()
        meetings = [t for t in upcoming if t.kind == "meeting"] or [FILLER[7]]
        out.append(_make(ctx, _pick(rng, meetings), _future(ctx), "scheduled"))
    del out[MAX_ACTIVITIES:]  # only a long won deal with every milestone logged gets here
    first, last = windows[0][1], min(windows[-1][2], ctx.now)
    while len(out) < target:
        out.append(_filler(ctx, first, last, is_open, early=evidence_stage < 2))
    out.sort(key=lambda a: a.start)
    return out


def _after_close(ctx: DealContext, closed_at: datetime) -> list[BookActivity]:
    signed, kickoff, onboarding = MILESTONES[WON]
    out = [_make(ctx, signed, closed_at, "completed")]
    rng = ctx.rng
    if rng.random() < 0.85:
        kick_at = _business_time(rng, closed_at + timedelta(days=_int(rng, 3, 14)))
        out.append(_make(ctx, kickoff, kick_at, "completed" if kick_at < ctx.now else "scheduled"))
        if rng.random() < 0.7:
            on_at = _business_time(rng, kick_at + timedelta(days=_int(rng, 5, 15)))
            out.append(_make(ctx, onboarding, on_at, "completed" if on_at < ctx.now else "scheduled"))
    return out


def _filler(ctx: DealContext, first: datetime, last: datetime, is_open: bool, early: bool) -> BookActivity:
    rng = ctx.rng
    # Before discovery a rep chases by email and phone; recurring meetings come once the buyer engages.
    template = _pick(rng, _EARLY_FILLER if early else FILLER)
    when = _between(rng, first, last)
    if template.kind == "task":
        if is_open and rng.random() < 0.45:
            due = _business_time(rng, ctx.now + timedelta(days=_int(rng, -10, 14)))
            return _make(ctx, template, due, "open")
        return _make(ctx, template, when, "completed")
    if template.subject.startswith("Call - left voicemail"):
        return _make(ctx, template, when, "no_show")  # a call that did not connect
    if template.kind == "meeting":
        roll = rng.random()
        status = "canceled" if roll < 0.15 else "no_show" if roll < 0.27 else "completed"
        return _make(ctx, template, when, status)
    return _make(ctx, template, when, "completed")


def _make(ctx: DealContext, template: Template, start: datetime, status: str) -> BookActivity:
    rng = ctx.rng
    attendees = _attendees(ctx, template)
    contact = ctx.contact_firsts[ctx.contact_ids.index(attendees[0])] if attendees else "team"
    subject = template.subject.format(
        company=ctx.company, contact=contact, product=ctx.product, competitor=ctx.competitor,
        owner=ctx.owner_first,
    )
    if status == "canceled" and rng.random() < 0.5:
        subject = "Canceled: " + subject
    raw = _pick(rng, template.bodies)
    key = (raw, contact)
    body = ctx.body_cache.get(key)
    if body is None:
        # Bodies only use bounded placeholders, so sharing them keeps a 100k-deal book small.
        body = raw.format(contact=contact, product=ctx.product, competitor=ctx.competitor)
        ctx.body_cache[key] = body
    end: datetime | None = None
    if template.kind == "meeting":
        end = start + timedelta(minutes=_pick(rng, _MEETING_MINUTES))
    elif template.kind == "call":
        end = start + timedelta(minutes=_int(rng, 5, 40))
    return BookActivity(0, template.kind, subject, body, start, end, status, attendees, ctx.owner_id)


def _attendees(ctx: DealContext, template: Template) -> list[int]:
    rng = ctx.rng
    low, high = template.attendees
    if not ctx.contact_ids or high == 0 or (template.kind == "meeting" and rng.random() < 0.08):
        return []  # logged without linking anyone, as reps often do
    ids = ctx.contact_ids
    count = min(len(ids), _int(rng, low, high))
    if count == len(ids):
        return list(ids)
    if count == 1:  # the common case, without random.sample's set-up cost
        return [_pick(rng, ids)]
    return rng.sample(ids, count)


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = (end - start).total_seconds()
    if span <= 3600:
        return start
    moment = _business_time(rng, start + timedelta(seconds=rng.random() * span))
    return moment if start <= moment < end else start + timedelta(seconds=span / 2)


def _future(ctx: DealContext) -> datetime:
    return _business_time(ctx.rng, ctx.now + timedelta(days=_int(ctx.rng, 1, 21)))


def _business_time(rng: random.Random, moment: datetime) -> datetime:
    hour, minute = _int(rng, 13, 22), _pick(rng, _QUARTER_HOURS)  # 9:00-18:45 US Eastern
    return moment.replace(hour=hour, minute=minute, second=0, microsecond=0)


# random.randint / random.choice cost ~1 us each through their argument checks; a book of 100k deals makes
# millions of draws, so the hot paths use these (same distribution, still driven by the seeded source).
def _int(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]
