"""Writing the plugin's fields: composite sObject collections, or Bulk API 2.0 for large runs.

Only the changed fields of each `WritePlan` are sent, under the names derived from the configured prefix.
Multi-selects are `;`-joined commitment ids, the evidence text is cut to the field's byte limit
(Salesforce enforces long-text lengths in bytes through the API), datetimes are UTC ISO-8601.
Updates go out as `PATCH composite/sobjects` (200 records a call, `allOrNone: false`); each refused
record becomes a `RecordFailure`, never an exception, and so does each record of a batch Salesforce stays
unavailable for (code "transient"). Above `bulk_threshold` updates, one Bulk API 2.0
update job is used instead and its failed rows are read back into failures. Task completions and
reopenings ride in the same composite calls as the field updates (mixed types are allowed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from connectors.base import (
    ApplyResult,
    FatalError,
    RecordFailure,
    TransientError,
    unavailable,
    until_unavailable,
)
from connectors.salesforce.config import FieldNames, SalesforceConfig
from connectors.salesforce.session import SalesforceApi
from core.models import Commitment, OwnedField, WritePlan

EVIDENCE_MAX_BYTES = 32768
BULK_NULL = "#N/A"  # an empty Bulk CSV cell leaves a field unchanged; this one clears it


@dataclass(frozen=True)
class PendingWrite:
    """One record of a composite call, and what to report about it."""

    deal_id: str
    operation: str  # "update" | "complete_task" | "reopen_task"
    record: dict[str, Any]
    fields: int = 0


def truncate_bytes(text: str, limit: int = EVIDENCE_MAX_BYTES) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, never inside a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def salesforce_value(name: OwnedField, value: Any) -> Any:
    """The JSON value Salesforce expects for an owned field (None clears it)."""
    if value is None:
        return False if name is OwnedField.STAGE_GAP else None
    if name in (OwnedField.SECURED, OwnedField.MISSING):
        return ";".join(Commitment(c).value for c in value) or None
    if name is OwnedField.NEXT:
        return Commitment(value).value
    if name is OwnedField.EVIDENCE:
        return truncate_bytes(str(value))
    if name is OwnedField.ASSESSED_AT:
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if name is OwnedField.SCORE:
        return int(value)
    return value


def field_updates(plan: WritePlan, names: FieldNames) -> dict[str, Any]:
    api_names = names.owned()
    updates = plan.field_updates().items()
    return {api_names[name.value]: salesforce_value(name, value) for name, value in updates}


def update_writes(plans: Sequence[WritePlan], names: FieldNames) -> list[PendingWrite]:
    writes = []
    for plan in plans:
        if not plan.changed:
            continue
        fields = field_updates(plan, names)
        record = {"attributes": {"type": "Opportunity"}, "id": plan.deal_id, **fields}
        writes.append(PendingWrite(plan.deal_id, "update", record, len(fields)))
    return writes


def complete_task_write(deal_id: str, task_id: str, status: str) -> PendingWrite:
    record = {"attributes": {"type": "Task"}, "id": task_id, "Status": status}
    return PendingWrite(deal_id, "complete_task", record)


def first_error(result: dict[str, Any]) -> tuple[str, str | None]:
    errors = result.get("errors") or [{}]
    error = errors[0]
    fields = ", ".join(error.get("fields") or [])
    message = str(error.get("message") or "refused by Salesforce")
    message += f" (fields: {fields})" if fields else ""
    return message, error.get("statusCode")


def tally(writes: Sequence[PendingWrite], results: Sequence[dict[str, Any]]) -> ApplyResult:
    """Fold composite SaveResults (in request order) into an ApplyResult."""
    if len(results) != len(writes):
        raise FatalError(f"Salesforce answered {len(results)} results for {len(writes)} records")
    outcome = ApplyResult()
    for write, result in zip(writes, results, strict=True):
        if not result.get("success"):
            message, code = first_error(result)
            outcome.failures.append(RecordFailure(write.deal_id, write.operation, message, code))
        elif write.operation == "update":
            outcome.deals_updated += 1
            outcome.fields_written += write.fields
        elif write.operation == "reopen_task":
            outcome.tasks_reopened += 1
        else:
            outcome.tasks_completed += 1
    return outcome


class Writer:
    def __init__(self, api: SalesforceApi, config: SalesforceConfig) -> None:
        self._api = api
        self._config = config

    def composite_update(self, writes: Sequence[PendingWrite]) -> ApplyResult:
        """Update in composite batches. These writes are idempotent, so a batch Salesforce stays unavailable
        for after the retry policy gave up is reported, with the rest, as failures to retry next run; what
        the earlier batches wrote is kept and counted."""
        def write(batch: Sequence[PendingWrite]) -> ApplyResult:
            self._api.caller.check_budget(self._config.api_reserve_fraction)
            results = self._api.restful(
                "composite", "composite/sobjects", method="PATCH",
                json={"allOrNone": False, "records": [w.record for w in batch]},
            )
            return tally(batch, results or [])

        def unwritten(rest: Sequence[PendingWrite], exc: TransientError) -> list[RecordFailure]:
            return [f for w in rest for f in unavailable((w.deal_id,), w.operation, exc)]

        return until_unavailable(writes, self._config.write_batch_size, write, unwritten)

    def bulk_update(self, writes: Sequence[PendingWrite]) -> ApplyResult:
        """One Bulk API 2.0 update job; its failed rows are read back as failures."""
        self._api.caller.check_budget(self._config.api_reserve_fraction)
        rows = [bulk_row(w.record) for w in writes]
        wait = self._config.bulk_wait_seconds
        jobs: list[dict[str, Any]] = self._api.call(
            "bulk2", lambda: self._api.bulk2("Opportunity").update(records=rows, wait=wait)
        )
        failures: list[RecordFailure] = []
        for job in jobs:
            if int(job.get("numberRecordsFailed") or 0):
                job_id = str(job["job_id"])
                failed_csv: str = self._api.call(
                    "bulk2", lambda: self._api.bulk2("Opportunity").get_failed_records(job_id)  # noqa: B023
                )
                failures.extend(bulk_failures(failed_csv))
        failed_ids = {f.deal_id for f in failures}
        outcome = ApplyResult(failures=failures)
        for write in writes:
            if write.deal_id not in failed_ids:
                outcome.deals_updated += 1
                outcome.fields_written += write.fields
        return outcome


def bulk_row(record: dict[str, Any]) -> dict[str, str]:
    row = {"Id": str(record["id"])}
    for name, value in record.items():
        if name in ("attributes", "id"):
            continue
        if value is None:
            row[name] = BULK_NULL
        elif isinstance(value, bool):
            row[name] = "true" if value else "false"
        else:
            row[name] = str(value)
    return row


def bulk_failures(failed_csv: str) -> list[RecordFailure]:
    failures = []
    for row in csv.DictReader(io.StringIO(failed_csv)):
        deal_id = row.get("sf__Id") or row.get("Id") or ""
        error = row.get("sf__Error") or "refused by Salesforce"
        code, _, message = error.partition(":")
        failures.append(RecordFailure(deal_id, "update", message.strip() or error, code.strip() or None))
    return failures

