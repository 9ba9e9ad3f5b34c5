"""Batch writes: owned deal properties 100 per call, per-record errors collected, bad batches bisected.

HubSpot answers a batch with 207 and per-record `errors` when some records fail (those are collected as
`RecordFailure`s, the rest counted as written), but rejects the whole batch with 400 for many validation
problems; then the batch is split in halves until the bad records are isolated and everything else is
written. `batch_write` is shared by deal updates and task updates and creates. Values are formatted as
HubSpot's property types require: checkboxes `;`-joined option values, booleans "true"/"false",
datetimes ISO 8601 UTC with milliseconds, an empty string to clear.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from connectors.base import (
    ApplyResult,
    ConfigurationError,
    RecordFailure,
    TransientError,
    keeping,
    unavailable,
)
from connectors.hubspot.client import HubSpotClient, Json
from connectors.hubspot.config import PropertyNames
from connectors.hubspot.errors import BadRequestError, NotFoundError
from core.models import OwnedField, WritePlan

TEXTAREA_LIMIT = 65_536  # HubSpot's maximum length of a string property value
_MISSING_PROPERTY = re.compile(r'Property \\?"([A-Za-z0-9_]+)\\?" does not exist')


def format_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, tuple | list | frozenset | set):
        return ";".join(format_value(v) for v in value)
    return str(value)[:TEXTAREA_LIMIT]


def deal_properties(plan: WritePlan, names: PropertyNames) -> dict[str, str]:
    """Only the changed owned fields, under their HubSpot property names."""
    updates: Mapping[OwnedField, object] = plan.field_updates()
    return {names.owned(field): format_value(value) for field, value in sorted(updates.items())}


@dataclass(frozen=True)
class Item:
    """One record to write: `ref` identifies it in answers (record id for updates, task key for creates)."""

    deal_id: str
    ref: str
    body: Json


@dataclass
class BatchOutcome:
    written: list[tuple[Item, Json]]
    failures: list[RecordFailure]


def _error_refs(error: Mapping[str, Any]) -> list[str]:
    context = error.get("context") or {}
    return [str(v) for values in context.values() for v in (values if isinstance(values, list) else [values])]


def batch_write(
    client: HubSpotClient,
    method: str,
    object_type: str,
    items: Sequence[Item],
    operation: str,
    identify: Callable[[Json], str | None],
    tally: Callable[[BatchOutcome], ApplyResult],
    *,
    kind: str,
    ambiguous_ok: bool = True,
) -> ApplyResult:
    """Write `items` in batches; `identify` maps a result record back to an item's `ref`, `tally` counts
    what was written (also for an error that stops the run part-way: it carries that count).

    If HubSpot stays unavailable after the retry policy gave up, an idempotent write reports this batch
    and the rest as failures (retried next run) and keeps what was written; a create re-raises, so its
    caller can re-check what exists before trying again.
    """
    outcome = BatchOutcome([], [])
    size = client.config.batch_size
    with keeping(lambda: tally(outcome)):
        for start in range(0, len(items), size):
            client.check_budget()
            try:
                _write(client, method, object_type, list(items[start : start + size]), operation, identify,
                       kind, ambiguous_ok, outcome)
            except TransientError as exc:
                if not ambiguous_ok:
                    raise
                outcome.failures.extend(unavailable([i.deal_id for i in items[start:]], operation, exc))
                break
    return tally(outcome)


def _write(
    client: HubSpotClient, method: str, object_type: str, items: list[Item], operation: str,
    identify: Callable[[Json], str | None], kind: str, ambiguous_ok: bool, outcome: BatchOutcome,
) -> None:
    try:
        data = client.call(kind, "objects.batch", method, object_type, {"inputs": [i.body for i in items]},
                           ambiguous_ok=ambiguous_ok)
    except (BadRequestError, NotFoundError) as exc:
        _raise_if_not_provisioned(exc, operation, items)
        if len(items) == 1:
            outcome.failures.append(RecordFailure(items[0].deal_id, operation, str(exc), code="400"))
            return
        middle = len(items) // 2  # bisect: the good half is written, the bad records are isolated
        for half in (items[:middle], items[middle:]):
            _write(client, method, object_type, half, operation, identify, kind, ambiguous_ok, outcome)
        return
    by_ref = {item.ref: item for item in items}
    done: set[str] = set()
    for record in data.get("results", []):
        ref = identify(record)
        if ref in by_ref and ref not in done:
            done.add(ref)
            outcome.written.append((by_ref[ref], record))
    errors = data.get("errors", [])
    messages = {ref: err for err in errors for ref in _error_refs(err)}
    fallback = errors[0] if errors else {"message": "HubSpot did not confirm this record", "category": None}
    for item in items:
        if item.ref not in done:
            error = messages.get(item.ref, fallback)
            outcome.failures.append(RecordFailure(
                item.deal_id, operation, f"HubSpot {operation}: {error.get('message')}",
                code=error.get("category") or error.get("subCategory"),
            ))


def _raise_if_not_provisioned(exc: Exception, operation: str, items: Sequence[Item]) -> None:
    """Properties the plugin writes are missing from the portal and every record of the batch writes one
    (`setup` has not run, or they were deleted): bisecting cannot isolate good records, so this is one
    ConfigurationError saying to run setup instead of a failure per record. HubSpot names the problem only
    inside the 400's message (`Property "x" does not exist`, error PROPERTY_DOESNT_EXIST)."""
    missing = set(_MISSING_PROPERTY.findall(str(exc)))
    if len(items) < 2 or not missing:
        return
    if all(missing & set(item.body.get("properties") or {}) for item in items):
        raise ConfigurationError(
            f"HubSpot {operation}: the portal lacks the plugin's properties {', '.join(sorted(missing))}; "
            "run `commitments setup` to create them"
        )


def update_deals(client: HubSpotClient, plans: Sequence[WritePlan], names: PropertyNames) -> ApplyResult:
    items = [
        Item(plan.deal_id, plan.deal_id, {"id": plan.deal_id, "properties": deal_properties(plan, names)})
        for plan in plans
        if plan.changed
    ]
    return batch_write(client, "update", "deals", items, "update", record_id, _updated, kind="batch_update")


def _updated(outcome: BatchOutcome) -> ApplyResult:
    fields = sum(len(item.body["properties"]) for item, _ in outcome.written)
    return ApplyResult(deals_updated=len(outcome.written), fields_written=fields, failures=outcome.failures)


def record_id(record: Json) -> str | None:
    return str(record.get("id"))
