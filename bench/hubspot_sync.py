"""Benchmark: the HubSpot connector against the local sandbox (real HTTP through hubspot-api-client).

On a generated portal (10,000 deals by default) it measures three runs and prints API calls by kind and
wall time for each:
1. full read: every deal with contacts, engagements, line items, quotes and stage history;
2. full write: the owned properties core's plan changed on every deal, and the plugin's tasks (the same
   connector as the read, as in a worker run; task creates re-check the deals' tasks first);
3. idle incremental run: nothing changed since the watermark (the sandbox clock moved one hour on).
Then it checks the call targets: at most 1 deal read call per 100 deals, association reads at most 1 per
1,000 deals per related type, at most 1 deal write per 100 changed deals, an idle run in at most 6 calls.
Who was at a meeting or on a call is read per meeting and per call (meetings->contacts, calls->contacts), so
those association reads are held to the same rule counted in their own ids: at most 1 per 1,000 meetings
(calls) of each window of 1,000 deals the reader maps at a time.
Search throttling (4 requests/s) is real here, so the idle run's six searches take about a second.

    python bench/hubspot_sync.py                 # 10,000 deals
    python bench/hubspot_sync.py --deals 2000
"""

# ruff: noqa: E402  (the sys.path fix below must run before the project imports)
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/sandbox.py would shadow the `sandbox` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent.parent))  # for bench.connector_runs

from pydantic import SecretStr

from bench.connector_runs import Run, book_options, ceil_div, check, frozen_clock, idle_run
from connectors.hubspot import HubSpotConfig, HubSpotConnector
from connectors.hubspot.read import DEAL_RELATED
from core.assess import assess
from core.models import ActivityKind, Deal, TaskActionKind, WritePlan
from core.plan import plan
from core.playbook import Playbook
from sandbox.hubspot import start_hubspot_sandbox
from worker.playbook_files import load_playbook

ATTENDED = (ActivityKind.MEETING, ActivityKind.CALL)


def attendee_reads(windows: list[list[Deal]]) -> tuple[int, int, int]:
    """(meetings, calls, the fewest association reads that can tell who attended them): each window's
    distinct meetings and calls, 1,000 ids per read, each kind on its own."""
    meetings = calls = reads = 0
    for window in windows:
        for kind in ATTENDED:
            ids = {a.id for d in window for a in d.activities if a.kind is kind}
            reads += ceil_div(len(ids), 1000)
            meetings += len(ids) if kind is ActivityKind.MEETING else 0
            calls += len(ids) if kind is ActivityKind.CALL else 0
    return meetings, calls, reads


def full_read(
    connector: HubSpotConnector, playbook: Playbook, now: datetime
) -> tuple[Run, list[WritePlan], int]:
    """Read every deal; core's assess+plan time is kept out of the read time. Also returns the fewest
    attendee association reads the deals read need (see `attendee_reads`)."""
    plans: list[WritePlan] = []
    windows: list[list[Deal]] = [[]]
    window_size = connector.config.association_batch_size  # deals mapped together, in read order
    core_seconds = 0.0
    started = time.perf_counter()
    for chunk in connector.read_deals(None, now):
        core_started = time.perf_counter()
        plans.extend(plan(assess(d, playbook, now), d, playbook, now) for d in chunk)
        for deal in chunk:
            if len(windows[-1]) == window_size:
                windows.append([])
            windows[-1].append(deal)
        core_seconds += time.perf_counter() - core_started
    run = Run(time.perf_counter() - started - core_seconds, connector.api_calls())
    meetings, calls, reads = attendee_reads(windows)
    summary = f"{len(plans)} deals, {meetings} meetings, {calls} calls"
    run.show("full read", f"{summary}; core {core_seconds:.1f} s")
    return run, plans, reads


def full_write(connector: HubSpotConnector, playbook: Playbook, plans: list[WritePlan]) -> tuple[Run, int]:
    todo = [p for p in plans if not p.is_empty]
    before = connector.api_calls()
    started = time.perf_counter()
    result = connector.apply(todo, playbook)
    run = Run(time.perf_counter() - started, connector.api_calls() - before)
    run.show("full write", f"{result.deals_updated} deals updated, {len(result.tasks_created)} tasks created,"
             f" {result.tasks_completed} completed, {len(result.failures)} failures")
    return run, sum(1 for p in todo for a in p.tasks if a.kind is TaskActionKind.CREATE)






def targets(
    read: Run, write: Run, idle: Run, plans: list[WritePlan], attendee_allowed: int, creates: int
) -> bool:
    deals, changed = len(plans), sum(1 for p in plans if p.changed)
    types = len(DEAL_RELATED)
    print("targets:")
    lists = read.calls["list"]
    ok = check("deal reads", lists <= ceil_div(deals, 100), f"{lists} list calls for {deals} deals")
    # deal->X once per window of 1,000 deals for each related type; meetings->contacts and calls->contacts
    # once per 1,000 meetings (calls) of a window
    allowed = types * ceil_div(deals, 1000) + attendee_allowed
    ok &= check("association reads", read.calls["assoc_read"] <= allowed,
                f"{read.calls['assoc_read']} (allowed {allowed}: {types} deal->X types per 1,000 deals,"
                f" {attendee_allowed} meetings->contacts and calls->contacts, per 1,000 of a window)")
    updates, creates_sent = write.calls["batch_update"], write.calls["create"]
    ok &= check("deal writes", updates <= ceil_div(changed, 100) + ceil_div(deals, 100),
                f"{updates} batch updates (deals, then task completions) for {changed} changed deals")
    ok &= check("task creates", creates_sent <= ceil_div(creates, 100), f"{creates_sent} calls for {creates}")
    return check("idle run", sum(idle.calls.values()) <= 6, f"{sum(idle.calls.values())} calls") and ok


def main() -> int:
    args = book_options("HubSpot")
    playbook = load_playbook()
    clock = frozen_clock()
    started = time.perf_counter()
    with start_hubspot_sandbox(deals=args.deals, seed=args.seed, clock=clock) as portal:
        print(f"sandbox: {args.deals} deals generated and served in {time.perf_counter() - started:.1f} s")
        token = SecretStr(portal.credentials["access_token"])

        def connector() -> HubSpotConnector:
            return HubSpotConnector(HubSpotConfig(access_token=token, base_url=portal.url))

        connector().setup(playbook, dry_run=False)
        now = clock.now
        syncing = connector()  # one run reads and writes, as the worker does
        read, plans, attendee_allowed = full_read(syncing, playbook, now)
        write, creates = full_write(syncing, playbook, plans)
        clock.now = now + timedelta(hours=1)  # nothing changes in the next window: an idle run
        idle = idle_run(connector(), now + timedelta(minutes=30), clock.now)
    return 0 if targets(read, write, idle, plans, attendee_allowed, creates) else 1


if __name__ == "__main__":
    sys.exit(main())
