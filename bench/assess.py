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

`--floor` also times the output alone: the same pydantic models (ten evidence and ten results, the
assessment, the owned fields with their evidence text, the write plan) built from one pass over each deal's
activities with no rule logic at all. It is the most any implementation of assess+plan with this output
could reach on this machine, and why the 20,000 deals/s target is out of reach in CPython (see README). It
is timed a second time with plain Python objects in place of the models: the difference is what the
pydantic models themselves cost.

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
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from pydantic import BaseModel

from core.assess import assess
from core.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    Assessment,
    Commitment,
    CommitmentResult,
    CommitmentStatus,
    Contact,
    Deal,
    Evidence,
    EvidenceKind,
    LineItem,
    OwnedFields,
    PluginTask,
    Quote,
    QuoteStatus,
    StageChange,
    WritePlan,
)
from core.plan import changed_fields, desired_values, plan
from core.playbook import Playbook
from core.trusted import builder
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


_COMMITMENTS = tuple(Commitment)
Maker = Callable[[type[BaseModel]], Callable[[dict[str, Any]], Any]]


@cache
def plain(cls: type[BaseModel]) -> Callable[[dict[str, Any]], Any]:
    """Like `builder`, but makes the lightest Python object with the same attributes instead of the model:
    the floor built with it shows what the pydantic models themselves cost."""
    kind = type(cls.__name__, (), {})

    def build(values: dict[str, Any]) -> Any:
        made: Any = object.__new__(kind)
        made.__dict__ = values
        return made

    return build


def output_only(deal: Deal, playbook: Playbook, make: Maker = builder) -> Any:
    """The output of assess+plan with none of the logic: what building it costs is the floor."""
    characters = 0
    for activity in sorted(deal.activities, key=lambda a: (a.start, a.id)):
        if activity.status is not ActivityStatus.CANCELED:
            characters += len(f"{activity.subject}\n{activity.body}")
    evidence, result = make(Evidence), make(CommitmentResult)
    results = tuple(
        result(
            {
                "commitment": commitment,
                "status": CommitmentStatus.PARTIAL,
                "expected": True,
                "evidence": (
                    evidence(
                        {
                            "kind": EvidenceKind.TEXT,
                            "source": "meeting",
                            "record_id": deal.id,
                            "at": NOW,
                            "snippet": f"{commitment} in {characters} characters",
                            "rule": commitment,
                        }
                    ),
                ),
                "reason": f"{commitment} found in {characters} characters of {deal.name}",
            }
        )
        for commitment in _COMMITMENTS
    )
    assessment = make(Assessment)(
        {
            "deal_id": deal.id,
            "stage": deal.stage,
            "results": results,
            "secured": (),
            "missing": _COMMITMENTS,
            "next": _COMMITMENTS[0],
            "stage_gap": True,
            "score": 0,
            "warnings": (),
            "assessed_at": NOW,
        }
    )
    desired = make(OwnedFields)(desired_values(assessment, playbook, NOW))
    changed = changed_fields(desired, deal.current)
    return make(WritePlan)({"deal_id": deal.id, "values": desired, "changed": changed, "tasks": ()})


def floor(total: int, seed: int, playbook: Playbook, make: Maker = builder) -> float:
    """CPU seconds `output_only` takes over the same deals `run` assesses."""
    cpu = 0.0
    for chunk in chunks(total, 1000, seed):
        began = time.process_time()
        for deal in chunk:
            output_only(deal, playbook, make)
        cpu += time.process_time() - began
    return cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tracemalloc", action="store_true", help="also report traced Python allocations")
    parser.add_argument("--gc-freeze", action="store_true", help="gc.freeze() each chunk before assessing it")
    parser.add_argument("--floor", action="store_true", help="also time building the output alone (no logic)")
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
    if args.floor:
        floor_cpu = floor(args.deals, args.seed, playbook)
        print(
            f"output alone, no logic (CPU): {floor_cpu:.2f} s -> at most {count / floor_cpu:,.0f} deals/s "
            f"({floor_cpu / count * 1e6:.1f} us/deal)"
        )
        plain_cpu = floor(args.deals, args.seed, playbook, plain)
        print(
            f"  the same as plain objects, no models: {plain_cpu:.2f} s -> at most {count / plain_cpu:,.0f} "
            f"deals/s ({plain_cpu / count * 1e6:.1f} us/deal)"
        )
    if args.tracemalloc:
        print(f"tracemalloc peak: {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MB")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
