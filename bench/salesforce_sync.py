"""Benchmark: the Salesforce connector against the local sandbox (real HTTP through simple-salesforce).

On a generated org (10,000 deals by default) it measures three runs and prints API calls by kind and wall
time for each:
1. full read: every opportunity with its contact roles, tasks, events, stage history, line items and
   quotes, and the attendees of its meetings and calls (core's assess+plan time is kept out of the time);
2. full write: the owned fields core's plan changed and the plugin's tasks, chunk by chunk as the worker
   applies them, by the same connector as the read (as in a worker run);
3. idle incremental run: nothing changed since the watermark (the org's clock moved one hour on), by a
   fresh connector, as each worker run is (so it discovers the org's schema again).
Then it checks the call targets: at most 1 read call per 100 deals on average, at most 1 deal write call
per 200 changed deals, an idle run in at most 5 calls, and no call per deal anywhere.

What counts: every call `api_calls()` counts (one per attempt, by kind), so every API call the full read
makes counts as a read call: discovery (describes and the stage query), the deal pages, child-list pages
and the attendee queries. `api_calls()` also counts the connector's SOAP login under `login` (once per
connector, and again on a re-login): a login is no REST API call (the sandbox does not count it in
`Sforce-Limit-Info` either), so it is printed but left out of the targets. The sandbox's own count of
requests by route splits the `composite` kind into deal/task-completion updates (`composite_update`) and
task creates (`composite_create`).

    python bench/salesforce_sync.py                 # 10,000 deals
    python bench/salesforce_sync.py --deals 2000
"""

# ruff: noqa: E402  (the sys.path fix below must run before the project imports)
from __future__ import annotations

import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

# Run as a script, bench/ comes first on sys.path and bench/sandbox.py would shadow the `sandbox` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent.parent))  # for bench.connector_runs

from bench.connector_runs import Run, book_options, ceil_div, check, frozen_clock, idle_run
from connectors.salesforce import SalesforceConfig, SalesforceConnector
from core.assess import assess
from core.models import ActivityKind, TaskActionKind, WritePlan
from core.plan import plan
from core.playbook import Playbook
from sandbox.salesforce import SalesforceSandbox, start_salesforce_sandbox
from worker.playbook_files import load_playbook


def full_read(
    connector: SalesforceConnector, playbook: Playbook, now: datetime
) -> tuple[Run, list[list[WritePlan]]]:
    """Read every deal; core's assess+plan time is kept out of the read time. Plans are kept per chunk."""
    chunks: list[list[WritePlan]] = []
    meetings: set[str] = set()
    core_seconds = 0.0
    before = connector.api_calls()
    started = time.perf_counter()
    for chunk in connector.read_deals(None, now):
        core_started = time.perf_counter()
        chunks.append([plan(assess(d, playbook, now), d, playbook, now) for d in chunk])
        meetings.update(a.id for d in chunk for a in d.activities if a.kind is ActivityKind.MEETING)
        core_seconds += time.perf_counter() - core_started
    run = Run(time.perf_counter() - started - core_seconds, connector.api_calls() - before)
    deals = sum(len(c) for c in chunks)
    run.show("full read", f"{deals} deals in {len(chunks)} chunks, {len(meetings)} meetings; "
             f"core {core_seconds:.1f} s")
    return run, chunks


def full_write(
    connector: SalesforceConnector, box: SalesforceSandbox, playbook: Playbook, chunks: list[list[WritePlan]]
) -> tuple[Run, Counter[str], int]:
    """Apply each read chunk's non-empty plans, as the worker does after assessing a chunk."""
    before, routes_before = connector.api_calls(), Counter(box.app.calls)
    updated = created = completed = failures = 0
    started = time.perf_counter()
    for chunk in chunks:
        result = connector.apply([p for p in chunk if not p.is_empty], playbook)
        updated += result.deals_updated
        created += len(result.tasks_created)
        completed += result.tasks_completed
        failures += len(result.failures)
    run = Run(time.perf_counter() - started, connector.api_calls() - before)
    routes = Counter(box.app.calls) - routes_before
    run.show("full write", f"{updated} deals updated, {created} tasks created, {completed} completed, "
             f"{failures} failures; sandbox: composite_update {routes['composite_update']}, "
             f"composite_create {routes['composite_create']}")
    creates = sum(1 for c in chunks for p in c for a in p.tasks if a.kind is TaskActionKind.CREATE)
    return run, routes, creates






def targets(
    read: Run, write: Run, routes: Counter[str], idle: Run, chunks: list[list[WritePlan]], creates: int
) -> bool:
    deals = sum(len(c) for c in chunks)
    changed = sum(1 for c in chunks for p in c if p.changed)
    print("targets (login left out: no REST API call):")
    ok = check("read calls", read.api <= ceil_div(deals, 100),
               f"{read.api} calls for {deals} deals ({read.api / max(deals, 1) * 100:.2f} per 100; "
               f"allowed {ceil_div(deals, 100)})")
    updates = routes["composite_update"] + write.calls["bulk2"]
    ok &= check("deal writes", updates <= ceil_div(changed, 200),
                f"{updates} update calls (deals, then task completions) for {changed} changed deals "
                f"(allowed {ceil_div(changed, 200)})")
    check("task creates (reported)", True,
          f"{routes['composite_create']} calls for {creates} new tasks, 200 a call within a chunk")
    ok &= check("idle run", idle.api <= 5, f"{idle.api} calls")
    most = max((n, kind, title) for title, run in (("read", read), ("write", write), ("idle", idle))
               for kind, n in run.calls.items())
    detail = f"the most of one kind in one run is {most[0]} ({most[1]}, {most[2]}) for {deals} deals"
    return check("no call per deal", most[0] * 10 <= max(deals, 100), detail) and ok


def main() -> int:
    args = book_options("Salesforce")
    playbook = load_playbook()
    clock = frozen_clock()
    started = time.perf_counter()
    with start_salesforce_sandbox(deals=args.deals, seed=args.seed, clock=clock, api_daily_max=10**9) as box:
        print(f"sandbox: {args.deals} deals generated and served in {time.perf_counter() - started:.1f} s")
        credentials = box.credentials
        config = SalesforceConfig.model_validate({
            "auth": {"mode": "password", **{k: credentials[k] for k in ("username", "password",
                                                                        "security_token", "domain")}},
            "api_base_url": credentials["api_base_url"],
        })

        def connector() -> SalesforceConnector:
            return SalesforceConnector(config, playbook=playbook)

        connector().setup(playbook, dry_run=False)
        now = clock.now
        syncing = connector()  # one run reads and writes, as the worker does
        read, chunks = full_read(syncing, playbook, now)
        write, routes, creates = full_write(syncing, box, playbook, chunks)
        clock.now = now + timedelta(hours=1)  # nothing changes in the next window: an idle run
        idle = idle_run(connector(), now + timedelta(minutes=30), clock.now)
    return 0 if targets(read, write, routes, idle, chunks, creates) else 1


if __name__ == "__main__":
    sys.exit(main())
