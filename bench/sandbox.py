"""Benchmark: the sandbox's book generator and one 2,000-record Salesforce query page.

1. Time and peak memory (resource.getrusage maxrss: the whole process, interpreter included) to generate a
   book of 100,000 deals. Targets: under 60 s and under 2 GB.
2. Time to serve one query page of `batchSize=2000` (children count toward the batch, as in Salesforce)
   for the Salesforce connector's own read query (Opportunities with contact role, task, event, stage
   history, line item and quote subqueries, built by connectors.salesforce.soql from describe), through
   simple-salesforce over real HTTP to the Salesforce sandbox. Target: under 0.5 s per page.
   Also: time and size to save and load that org's state with sandbox/persist.py.

    python bench/sandbox.py                      # 100,000 deals generated; page from a 2,000-deal org
    python bench/sandbox.py --deals 20000 --org-deals 500
"""

# ruff: noqa: E402  (the sys.path fix below must run before the project imports)
from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder (bench/) comes first on sys.path, and bench/sandbox.py would shadow
# the `sandbox` package it measures.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from connectors.salesforce import soql
from connectors.salesforce.config import SalesforceConfig
from sandbox import persist
from sandbox.generator import generate_book
from sandbox.salesforce import new_org, start_salesforce_sandbox
from sandbox.salesforce.store import SalesforceStore
from sandbox.salesforce.testing import password_login

GENERATE_SECONDS, GENERATE_MB, PAGE_SECONDS = 60.0, 2048.0, 0.5


def peak_mb() -> float:
    # maxrss is KiB on Linux, bytes on macOS
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def bench_generate(deals: int) -> bool:
    before = peak_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    book = generate_book(deals=deals, seed=1)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    activities = sum(len(d.activities) for d in book.deals)
    peak = peak_mb()
    ok = seconds < GENERATE_SECONDS and peak < GENERATE_MB
    print(f"generate {deals:,} deals: {seconds:.1f} s ({cpu:.1f} s CPU), "
          f"peak RSS {peak:,.0f} MB (before {before:,.0f} MB); "
          f"{len(book.contacts):,} contacts, {activities:,} activities "
          f"[target < {GENERATE_SECONDS:.0f} s, < {GENERATE_MB:,.0f} MB: {'ok' if ok else 'MISSED'}]")
    del book
    gc.collect()
    return ok


def read_query(sf: object) -> str:
    """The connector's full-read SOQL for what this org's describe shows."""
    fields: dict[str, frozenset[str]] = {}
    relationships: frozenset[str] = frozenset()
    for sobject in ("Opportunity", "Task", "Event"):
        described = getattr(sf, sobject).describe()
        fields[sobject] = frozenset(f["name"] for f in described["fields"])
        if sobject == "Opportunity":
            relationships = frozenset(
                r["relationshipName"] for r in described["childRelationships"] if r.get("relationshipName")
            )
    schema = soql.OrgSchema(fields=fields, relationships=relationships)
    config = SalesforceConfig.model_validate({"auth": {"mode": "password", "username": "u", "password": "p"}})
    return soql.full_read(schema, config.field_names())


def bench_page(org_deals: int, repeats: int) -> bool:
    store = new_org(generate_book(deals=org_deals, seed=1))
    with start_salesforce_sandbox(store=store) as sandbox:
        sf = password_login(sandbox.credentials)
        query = read_query(sf)
        headers = {"Sforce-Query-Options": "batchSize=2000"}
        timings, page = [], {}
        for _ in range(repeats + 1):  # the first one warms the caches (schema, child indexes)
            started = time.perf_counter()
            page = sf.query(query, headers=headers)
            timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        pages, result = 1, sf.query(query, headers=headers)
        while not result["done"]:
            pages, result = pages + 1, sf.query_more(result["nextRecordsUrl"], True, headers=headers)
        whole = time.perf_counter() - started
    records = page["records"]
    children = sum(
        len((r.get(rel) or {}).get("records") or []) for r in records for rel in soql.RELATIONSHIP_OF.values()
    )
    median = statistics.median(timings[1:])
    ok = median < PAGE_SECONDS
    print(f"salesforce query page (batchSize=2000, {len(soql.CHILDREN)} subqueries), {org_deals:,}-deal org: "
          f"median {median * 1000:.0f} ms, first {timings[0] * 1000:.0f} ms over {repeats} runs; "
          f"{len(records)} opportunities + {children} child rows, done={page['done']} "
          f"[target < {PAGE_SECONDS} s: {'ok' if ok else 'MISSED'}]")
    print(f"salesforce full read of the {org_deals:,}-deal org: {pages} pages in {whole:.2f} s")
    bench_persist(store, org_deals)
    return ok


def bench_persist(store: SalesforceStore, org_deals: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "state.sqlite3"
        started = time.perf_counter()
        rows = persist.save(store, path)
        saved = time.perf_counter() - started
        started = time.perf_counter()
        persist.load(SalesforceStore(), path)
        loaded = time.perf_counter() - started
        size = path.stat().st_size / 1e6
    print(f"persist a {org_deals:,}-deal org: save {saved:.2f} s, load {loaded:.2f} s, "
          f"{rows:,} records, {size:.1f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000, help="deals to generate (default 100,000)")
    parser.add_argument("--org-deals", type=int, default=2_000, help="deals in the org the page is read from")
    parser.add_argument("--repeats", type=int, default=5, help="timed query pages (after one warm-up)")
    args = parser.parse_args(argv)
    ok = bench_generate(args.deals)
    ok = bench_page(args.org_deals, args.repeats) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
