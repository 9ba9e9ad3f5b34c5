"""Benchmark: the whole main job (`run_sync`) against the sandbox CRMs, per CRM.

For each CRM the sandbox runs in its own process (generating the book there), and every sync runs in a
fresh process, so the reported peak memory (ru_maxrss) is the sync worker's alone, imports included:
1. full sync of the book (every deal read, assessed, written, tasks created);
2. the next incremental run, an hour later: it rereads the deals the full sync wrote (their modification
   stamps moved) and writes nothing;
3. an idle incremental run another hour later: nothing changed since the watermark.
Then the same full sync on a larger book for peak memory only.

    python bench/sync_e2e.py                         # 10,000 deals, then 100,000 for peak memory
    python bench/sync_e2e.py --deals 2000 --big 0    # quick
    python bench/sync_e2e.py --crm hubspot
Targets: 10k full sync < 60 s (no injected latency), idle incremental < 2 s, peak < 300 MB at 100k.
"""


from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, bench/ comes first on sys.path and bench/sandbox.py would shadow the `sandbox` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

HOUR = 3600.0


def serve(crm: str, deals: int, seed: int, offset: Any, pipe: Any) -> None:
    """The sandbox process: its clock runs `offset` seconds ahead of real time (moved by the parent)."""
    from worker.connections import start_sandbox

    def clock() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=offset.value)

    options: dict[str, Any] = {"clock": clock}
    if crm == "salesforce":
        options["api_daily_max"] = 10**9
    handle = start_sandbox(crm, deals=deals, seed=seed, **options)
    pipe.send(handle.credentials)
    pipe.recv()  # until the parent says stop
    handle.stop()


def sync_once(
    crm: str, credentials: dict[str, Any], db_url: str, offset: float, setup: bool, pipe: Any
) -> None:
    """One run in a fresh process; sends back outcome, counts, calls, wall time and peak RSS."""
    from worker.connections import build_connector, sandbox_config
    from worker.playbook_files import load_playbook
    from worker.store import Store
    from worker.sync import SyncConnection, run_sync

    playbook = load_playbook()
    connector = build_connector(sandbox_config(crm, credentials), playbook)
    if setup:
        connector.setup(playbook, dry_run=False)
    store = Store.open(db_url)
    started = time.perf_counter()
    result = run_sync(
        SyncConnection("bench", connector, playbook, store), datetime.now(UTC) + timedelta(seconds=offset)
    )
    seconds = time.perf_counter() - started
    calls = sum(result.api_calls.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pipe.send((result.outcome, result.counts, calls, dict(result.api_calls), seconds, peak_mb, result.error))
    store.close()
    connector.close()


def run_child(context: Any, target: Any, *args: Any) -> Any:
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(*args, child))
    process.start()
    value = parent.recv()
    process.join()
    return value


def bench_crm(crm: str, deals: int, seed: int, phases: list[tuple[str, float]]) -> list[str]:
    context = mp.get_context("spawn")
    offset = context.Value("d", 0.0)
    parent, child = context.Pipe()
    started = time.perf_counter()
    server = context.Process(target=serve, args=(crm, deals, seed, offset, child))
    server.start()
    credentials = parent.recv()
    lines = [f"{crm:<10} {deals:>7} deals: sandbox ready in {time.perf_counter() - started:.1f} s"]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
            db_url = f"sqlite:///{Path(tmp) / 'state.sqlite3'}"
            for index, (phase, at) in enumerate(phases):
                offset.value = at
                outcome, counts, calls, by_kind, seconds, peak, error = run_child(
                    context, sync_once, crm, credentials, db_url, at, index == 0
                )
                kinds = ", ".join(f"{k} {n}" for k, n in sorted(by_kind.items()))
                lines.append(
                    f"  {phase:<26} {outcome:<8} {seconds:8.2f} s {calls:6d} calls  peak {peak:6.0f} MB  "
                    f"read {counts.deals_read}, changed {counts.deals_changed}, "
                    f"fields {counts.fields_written}, tasks +{counts.tasks_created}  ({kinds})"
                    f"{'  ' + error if error else ''}"
                )
                print(lines[-1], flush=True)
    finally:
        parent.send("stop")
        server.join(timeout=60)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crm", choices=["salesforce", "hubspot", "both"], default="both")
    parser.add_argument("--deals", type=int, default=10_000, help="Book size for the timed runs (0: skip).")
    parser.add_argument(
        "--big", type=int, default=100_000, help="Book size for the peak-memory run (0: skip)."
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    crms = ["salesforce", "hubspot"] if args.crm == "both" else [args.crm]
    report: list[str] = []
    phases = [("full sync", 0.0), ("next run (own writes)", HOUR), ("idle incremental", 2 * HOUR)]
    for crm in crms if args.deals else []:
        report += bench_crm(crm, args.deals, args.seed, phases)
    if args.big:
        for crm in crms:
            report += bench_crm(crm, args.big, args.seed, [("full sync (peak memory)", 0.0)])
    print("\nSummary")
    print("\n".join(report))


if __name__ == "__main__":
    main()
