"""Benchmark: core.assess + core.plan throughput and peak memory on seeded synthetic deals.

Deals of realistic size (5-40 activities with subjects and bodies, 1-8 contacts, stage history, quotes,
line items, some already holding the plugin's fields and tasks) are generated in chunks and streamed, never
all held in memory. Only assess+plan is in the headline figures; generating the deals (`model_construct`,
as a connector's already-validated deals would arrive) is timed apart and reported on its own line. Peak
memory is the process's peak RSS (resource.getrusage), which includes the interpreter and libraries;
`--tracemalloc` also reports Python allocations (slower while tracing, so its throughput is not the
headline). Both wall-clock and CPU time are reported: on a shared machine the CPU figure is the one-core
number. `--gc-freeze` freezes each generated chunk before timing it, as a worker can with a chunk it has
read.

    python bench/assess.py --deals 100000
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from core.assess import assess
from core.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Commitment,
    Contact,
    Deal,
    LineItem,
    OwnedFields,
    PluginTask,
    Quote,
    QuoteStatus,
    StageChange,
)
from core.plan import plan
from core.playbook import Playbook
from worker.playbook_files import load_playbook

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
SUBJECTS = (
    "Intro call",
    "First meeting",
    "Discovery session",
    "Needs analysis",
    "Follow-up",
    "Check-in",
    "Solution design workshop",
    "Scoping session",
    "Pricing review",
    "Proposal walkthrough",
    "Security review",
    "Legal review of MSA",
    "Pilot kickoff",
    "Weekly sync",
    "Demo for the wider team",
    "Onboarding kickoff",
    "Quick call",
    "Lunch",
    "Site visit",
    "Exec alignment",
    "Re: next steps",
    "Notes",
)
SENTENCES = (
    "They walked us through the current process and the reporting gaps.",
    "Main challenge is the manual process for month end, roughly two days of rework.",
    "Finance wants a business case before the budget cycle closes.",
    "IT raised questions about SSO and data residency.",
    "Agreed to loop in procurement and the CFO next week.",
    "Budget approved for the first phase, second phase depends on results.",
    "Concerns addressed on the integration timeline.",
    "No decision yet, they want to compare two other vendors.",
    "Shared the draft SOW and the mutual action plan.",
    "The team liked the demo, especially the dashboards.",
    "Need to confirm the number of seats and the rollout plan.",
    "Security questionnaire sent back, waiting on their InfoSec review.",
    "Call went to voicemail, left a message.",
    "Discussed pricing tiers and the multi-year discount.",
)
ROLES = (
    "Decision Maker",
    "Economic Buyer",
    "Evaluator",
    "Influencer",
    "Technical Buyer",
    "Business User",
    "",
)
STAGES = {
    "salesforce": (
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ),
    "default": (
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "decisionmakerboughtin",
        "contractsent",
        "closedwon",
        "closedlost",
    ),
}
KINDS = (
    ActivityKind.MEETING,
    ActivityKind.MEETING,
    ActivityKind.CALL,
    ActivityKind.EMAIL,
    ActivityKind.NOTE,
    ActivityKind.TASK,
)
STATUSES = (ActivityStatus.COMPLETED,) * 6 + (
    ActivityStatus.SCHEDULED,
    ActivityStatus.CANCELED,
    ActivityStatus.NO_SHOW,
    ActivityStatus.OPEN,
)


def _activity(rng: random.Random, deal_id: str, n: int, start: datetime, contact_ids: list[str]) -> Activity:
    at = start + timedelta(days=rng.randint(0, 120), hours=rng.randint(8, 17))
    attendees = tuple(rng.sample(contact_ids, k=rng.randint(0, min(3, len(contact_ids)))))
    body = " ".join(rng.sample(SENTENCES, k=rng.randint(0, 3)))
    return Activity.model_construct(
        id=f"{deal_id}-a{n}",
        kind=rng.choice(KINDS),
        status=rng.choice(STATUSES),
        subject=rng.choice(SUBJECTS),
        body=body,
        start=at,
        end=at + timedelta(minutes=30),
        attendee_ids=attendees,
    )


def synthetic_deal(rng: random.Random, index: int) -> Deal:
    deal_id = f"D{index:07d}"
    pipeline = rng.choice(("salesforce", "default"))
    stages = STAGES[pipeline]
    rank = rng.randrange(len(stages))
    stage = stages[rank]
    closed = rank >= len(stages) - 2
    created = NOW - timedelta(days=rng.randint(30, 300))
    contacts = tuple(
        Contact.model_construct(
            id=f"{deal_id}-c{n}",
            name=f"Contact {n}",
            title="Manager",
            roles=(role,) if (role := rng.choice(ROLES)) else (),
        )
        for n in range(rng.randint(1, 8))
    )
    ids = [c.id for c in contacts]
    activities = tuple(_activity(rng, deal_id, n, created, ids) for n in range(rng.randint(5, 40)))
    quotes = (
        (
            Quote.model_construct(
                id=f"{deal_id}-q",
                status=rng.choice(tuple(QuoteStatus)),
                name="Quote",
                created_at=created + timedelta(days=60),
            ),
        )
        if rank >= 5
        else ()
    )
    items = (
        (
            LineItem.model_construct(
                id=f"{deal_id}-li", name="Licence", quantity=10.0, amount=5000.0, created_at=created
            ),
        )
        if rank >= 3
        else ()
    )
    current = (
        OwnedFields()
        if rng.random() < 0.5
        else OwnedFields.model_construct(
            secured=(Commitment.TIME,),
            missing=(),
            next=Commitment.EXPLORE,
            score=1,
            stage_gap=False,
            evidence="old",
            assessed_at=NOW - timedelta(days=1),
        )
    )
    tasks = (
        (
            PluginTask.model_construct(
                task_id=f"{deal_id}-t",
                key=f"cmt:{deal_id}:explore",
                commitment=Commitment.EXPLORE,
                is_open=True,
            ),
        )
        if rng.random() < 0.3
        else ()
    )
    return Deal.model_construct(
        id=deal_id,
        name=f"Deal {index}",
        stage=stage,
        pipeline=pipeline,
        is_closed=closed,
        is_won=closed and rank == len(stages) - 2,
        amount=rng.choice((None, 25000.0, 80000.0)),
        currency="USD",
        close_date=(created + timedelta(days=90)).date() if closed else date(2026, 9, 30),
        forecast_category=rng.choice(("Pipeline", "Best Case", "Commit")),
        owner_id="005X",
        created_at=created,
        modified_at=NOW,
        next_step="Follow up",
        description=rng.choice(SENTENCES),
        contacts=contacts,
        activities=activities,
        stage_history=(StageChange.model_construct(stage=stage, entered_at=created + timedelta(days=20)),),
        line_items=items,
        quotes=quotes,
        confirmed=(),
        current=current,
        plugin_tasks=tasks,
    )


def chunks(total: int, size: int, seed: int) -> Iterator[list[Deal]]:
    rng = random.Random(seed)
    for start in range(0, total, size):
        yield [synthetic_deal(rng, i) for i in range(start, min(total, start + size))]


class Timings(NamedTuple):
    wall: float  # seconds in assess+plan
    cpu: float  # CPU seconds in assess+plan
    generation_cpu: float  # CPU seconds generating the synthetic deals (not part of assess+plan)
    deals: int
    writes: int  # plans with something to write


def run(total: int, seed: int, playbook: Playbook, freeze: bool = False) -> Timings:
    """Assess and plan `total` generated deals, chunk by chunk; only assess+plan is in `wall` and `cpu`."""
    wall = cpu = generation_cpu = 0.0
    writes = count = 0
    generated = chunks(total, 1000, seed)
    while True:
        began_cpu = time.process_time()
        chunk = next(generated, None)
        generation_cpu += time.process_time() - began_cpu
        if chunk is None:
            break
        if freeze:  # what a worker can do with a chunk it has read: keep the cyclic GC from rescanning it
            gc.freeze()
        began, began_cpu = time.perf_counter(), time.process_time()
        for deal in chunk:
            result = plan(assess(deal, playbook, NOW), deal, playbook, NOW)
            writes += not result.is_empty
        wall += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        count += len(chunk)
        if freeze:
            gc.unfreeze()
    return Timings(wall, cpu, generation_cpu, count, writes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tracemalloc", action="store_true", help="also report traced Python allocations")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() each chunk before assessing it")
    args = parser.parse_args(argv)
    playbook = load_playbook()
    if args.tracemalloc:
        tracemalloc.start()
    wall, cpu, generation_cpu, count, writes = run(args.deals, args.seed, playbook, args.gc_freeze)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"deals: {count}  plans with writes: {writes}")
    print(f"assess+plan wall: {wall:.2f} s -> {count / wall:,.0f} deals/s ({wall / count * 1e6:.1f} us/deal)")
    print(f"assess+plan CPU:  {cpu:.2f} s -> {count / cpu:,.0f} deals/s ({cpu / count * 1e6:.1f} us/deal)")
    print(
        f"generation CPU (not timed above): {generation_cpu:.2f} s -> {count / generation_cpu:,.0f} deals/s "
        f"({generation_cpu / count * 1e6:.1f} us/deal)"
    )
    print(f"peak RSS: {peak_rss_mb:.0f} MB")
    if args.tracemalloc:
        print(f"tracemalloc peak: {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
