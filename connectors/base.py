"""The seam between the worker and a CRM: the `Connector` protocol and the values that cross it.

A connector turns CRM records into core's `Deal` and core's `WritePlan` into CRM calls. The worker only
ever talks to this protocol, so the sync engine is tested with an in-memory connector and the Salesforce
and HubSpot connectors are interchangeable. Errors are grouped by what the caller should do (STYLE.md):
fix the configuration, retry later, skip and report one record, or stop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, runtime_checkable

from core.models import (
    COMMITMENT_ORDER,
    Activity,
    ActivityKind,
    ActivityStatus,
    Commitment,
    Deal,
    TaskAction,
    WritePlan,
)
from core.playbook import Playbook

T = TypeVar("T")

# ------------------------------------------------------------------------------------------------ errors


class ConnectorError(Exception):
    """Root of every error a connector raises. Messages never contain secrets.

    An error that stops `Connector.apply` part-way carries in `written` what the apply had written before
    it (see `keeping`), as `BlockingIOError.characters_written` does, so the run can still record it."""

    written: ApplyResult | None = None


class ConfigurationError(ConnectorError):
    """The user's settings are wrong (bad credentials, unknown domain, missing scope): fix and rerun."""


class TransientError(ConnectorError):
    """Worth retrying later (rate limited, CRM unavailable) after `retry_after` seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExhaustedError(ConnectorError):
    """The CRM's API budget is spent or below the configured reserve: stop the run, keep the watermark."""


class FatalError(ConnectorError):
    """Anything else that stops the run."""


# ------------------------------------------------------------------------------------- apply results


@dataclass(frozen=True)
class RecordFailure:
    """One deal (or one task of a deal) the CRM refused; reported, recorded, retried on the next run."""

    deal_id: str
    operation: str  # "read", "update", "create_task", "complete_task", "reopen_task"
    message: str
    code: str | None = None


@dataclass(frozen=True)
class CreatedTask:
    deal_id: str
    key: str
    task_id: str


@dataclass
class ApplyResult:
    """What `Connector.apply` did. Per-record failures are collected here, never raised."""

    deals_updated: int = 0
    fields_written: int = 0
    tasks_created: list[CreatedTask] = field(default_factory=list)
    tasks_completed: int = 0
    tasks_reopened: int = 0
    failures: list[RecordFailure] = field(default_factory=list)

    def merge(self, other: ApplyResult) -> None:
        self.deals_updated += other.deals_updated
        self.fields_written += other.fields_written
        self.tasks_created.extend(other.tasks_created)
        self.tasks_completed += other.tasks_completed
        self.tasks_reopened += other.tasks_reopened
        self.failures.extend(other.failures)


@contextmanager
def keeping(result: Callable[[], ApplyResult]) -> Iterator[None]:
    """Around a step of `apply` that builds up `result()`: an error that stops it leaves carrying that too
    (in `ConnectorError.written`). Each level that collects results keeps its own, and a step's result is
    merged into its caller's only when the step returns, so nothing is counted twice."""
    try:
        yield
    except ConnectorError as exc:
        so_far = ApplyResult()
        for part in (exc.written, result()):
            if part is not None:
                so_far.merge(part)
        exc.written = so_far
        raise


# ---------------------------------------------------------------------------------------- read chunks


class DealChunk(list[Deal]):
    """A chunk of deals read, with a failure for each record of it that could not be made a `Deal`
    (`unreadable`): one record holding data no mapping foresaw is reported and retried on the next run
    (through `include_ids`) while the rest of the book is synced, instead of failing every run."""

    def __init__(self, deals: Iterable[Deal] = ()) -> None:
        super().__init__(deals)
        self.unreadable: list[RecordFailure] = []

    def add(self, deal_id: str, build: Callable[..., Deal], *args: Any) -> None:
        """Append `build(*args)`, or record why the record `deal_id` could not be read. A `ConnectorError`
        (the CRM is unavailable, a setting is wrong) is about the run, not the record: it propagates."""
        try:
            self.append(build(*args))
        except ConnectorError:
            raise
        except Exception as exc:  # any surprise in one record's data: that record fails, the run goes on
            message = f"could not read the deal: {type(exc).__name__}: {exc}"
            self.unreadable.append(RecordFailure(deal_id, "read", message[:500], "unreadable"))


def unavailable(deal_ids: Iterable[str], operation: str, exc: TransientError) -> list[RecordFailure]:
    """The records of deals the CRM stayed unavailable for after the retry policy gave up: failures to
    retry on the next run (through `include_ids`), so the run goes on and keeps what was written."""
    return [RecordFailure(deal_id, operation, str(exc), code="transient") for deal_id in deal_ids]


def until_unavailable(
    items: Sequence[T],
    size: int,
    write: Callable[[Sequence[T]], ApplyResult],
    unwritten: Callable[[Sequence[T], TransientError], list[RecordFailure]],
) -> ApplyResult:
    """Write `items` in batches of `size`. When the CRM stays unavailable for a batch after the retry policy
    gave up, that batch and the rest become failures (`unwritten`) to retry next run, and what the earlier
    batches wrote is kept: safe for updates (idempotent) and for creates, whose keys the next run finds."""
    outcome = ApplyResult()
    with keeping(lambda: outcome):
        for start in range(0, len(items), size):
            try:
                outcome.merge(write(items[start : start + size]))
            except TransientError as exc:
                outcome.failures.extend(unwritten(items[start:], exc))
                break
    return outcome


def unwritten_creates(rest: Sequence[TaskAction], exc: TransientError) -> list[RecordFailure]:
    """The task creates of `until_unavailable` left unsent: their deals' failures."""
    return unavailable([a.deal_id for a in rest], "create_task", exc)


def creates_after_completions(creates: Sequence[TaskAction], done: ApplyResult) -> list[TaskAction]:
    """The task creates to send once the completions were applied (`done`): not those of deals whose old
    task the CRM stayed unavailable to complete, so a deal never has two open plugin tasks; the next run
    completes the old one and creates this one. A completion the CRM refused outright (a locked or invalid
    task) does not hold the create back, or that deal would never get its next task."""
    waiting = {f.deal_id for f in done.failures if f.operation == "complete_task" and f.code == "transient"}
    return [action for action in creates if action.deal_id not in waiting]


def or_failures(write: Callable[[], ApplyResult], deal_ids: Sequence[str], operation: str) -> ApplyResult:
    """Run one write step; if the CRM stays unavailable, its deals become failures to retry next run."""
    if not deal_ids:
        return ApplyResult()
    try:
        return write()
    except TransientError as exc:
        return ApplyResult(failures=unavailable(deal_ids, operation, exc))


@dataclass(frozen=True)
class SetupChange:
    """One thing provisioning created or would create (field, option, permission, list view, group)."""

    kind: str
    name: str
    action: str  # "create", "update", "unchanged", or "refused" (detail: the CRM's reason)
    detail: str = ""


@dataclass
class SetupReport:
    changes: list[SetupChange] = field(default_factory=list)
    dry_run: bool = False

    @property
    def pending(self) -> list[SetupChange]:
        return [c for c in self.changes if c.action not in ("unchanged", "refused")]

    @property
    def refused(self) -> list[SetupChange]:
        return [c for c in self.changes if c.action == "refused"]

    @staticmethod
    def by_kind(changes: list[SetupChange]) -> str:
        """"field 9, list view 2, permission set 2": what `changes` hold, by kind (each CRM has its own)."""
        kinds = Counter(c.kind.replace("_", " ") for c in changes)
        return ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))


@dataclass(frozen=True)
class FieldAccess:
    """Who works the deals and can't see the plugin's fields: the active owners of open deals, and those of
    them (id, name) that field-level security keeps from reading the fields."""

    owners: int
    without: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ApiBudget:
    """Calls used and allowed in the CRM's current budget window (daily for Salesforce)."""

    used: int
    limit: int

    @property
    def remaining_fraction(self) -> float:
        return 1.0 if self.limit <= 0 else max(0.0, (self.limit - self.used) / self.limit)


# ------------------------------------------------------------------------- helpers both connectors use

# The plugin writes commitment ids as picklist / option values; readers map them back through this.
COMMITMENT_IDS: Mapping[str, Commitment] = MappingProxyType({c.value: c for c in COMMITMENT_ORDER})


def parse_commitments(
    value: object, lookup: Mapping[str, Commitment] = COMMITMENT_IDS
) -> tuple[Commitment, ...] | None:
    """A `;`-joined multi-select value as commitments in canonical order; unknown values are dropped."""
    if value is None:
        return None
    found = {lookup[part.strip()] for part in str(value).split(";") if part.strip() in lookup}
    return tuple(c for c in COMMITMENT_ORDER if c in found)


def met_off_the_deal(
    activities: Iterable[Activity], on_deal: Collection[str], id_prefix: str = ""
) -> list[str]:
    """Contacts (ids starting `id_prefix`) at the deal's held meetings and connected calls who are not
    contacts on the deal, in first-seen order. Both CRMs put them on the deal, without a role: a buyer the
    deal met is on it even where nobody added them (few orgs keep every contact role or association). Those
    only invited to a meeting still to come, or one canceled or missed, were not met."""
    return list(dict.fromkeys(
        person
        for activity in activities
        if activity.kind in _MET and activity.status is ActivityStatus.COMPLETED
        for person in activity.attendee_ids
        if person not in on_deal and person.startswith(id_prefix)
    ))


_MET = frozenset({ActivityKind.MEETING, ActivityKind.CALL})


def no_access_to_grant(crm: str) -> ConfigurationError:
    """`grant_field_access` where the CRM has none to grant (`grants_field_access` is false)."""
    return ConfigurationError(
        f"--assign-owners is for Salesforce: {crm} has no field access to grant through its API; "
        "nothing was changed"
    )


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """`items` in consecutive slices of at most `size`, for the CRMs' batch and URL-length limits."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def check_header_secret(secret: str, what: str) -> None:
    """A secret sent in the Authorization header, where a space or line break is refused before sending:
    a settings error now (naming `what`, never the value) instead of a traceback later."""
    if any(c.isspace() for c in secret):
        raise ValueError(f"the {what} contains a space or line break (pasted with a newline?)")


# ---------------------------------------------------------------------------------------------- protocol


@runtime_checkable
class Connector(Protocol):
    """What the sync engine needs from a CRM. Construction does no network I/O."""

    crm: str  # "salesforce" | "hubspot" | "memory"
    # Whether `grant_field_access` can give users the plugin's fields (Salesforce field-level security);
    # where it cannot (HubSpot shows properties to every user unless restricted in its settings), it raises.
    grants_field_access: bool

    def read_deals(
        self, since: datetime | None, until: datetime, *, include_ids: Collection[str] = ()
    ) -> Iterator[list[Deal]]:
        """Yield deals in chunks (a few hundred at most), each deal at most once per call. A chunk may be
        a `DealChunk` carrying the records it could not read (possibly none of its deals).

        `since` None is a full read of every deal. Otherwise: deals modified in [since, until], plus deals
        whose activities, contact roles, line items or quotes changed in that window, plus `include_ids`
        (deals whose writes failed last run). `until` is the run's frozen start.
        """
        ...

    def read_deals_by_id(self, ids: Sequence[str], until: datetime) -> Iterator[list[Deal]]:
        """Yield the deals `ids` (as the CRM returns them: `worker.connections.deal_ids`), read and mapped as
        `read_deals` reads them, in chunks, and nothing else: no change window, no other deal. An id the
        CRM does not have (or a deal in a pipeline the connection leaves out) is simply not yielded."""
        ...

    def apply(self, plans: Sequence[WritePlan], playbook: Playbook) -> ApplyResult:
        """Write the plans' changed fields and task actions in batches; never raise for one bad record."""
        ...

    def setup(self, playbook: Playbook, *, dry_run: bool) -> SetupReport:
        """Provision the owned fields (and permissions, views, groups); idempotent."""
        ...

    def field_access(self) -> FieldAccess | None:
        """Which active owners of open deals can't read the plugin's fields; None where the CRM shows them
        to every user (HubSpot: property restrictions live in its settings, out of the API's reach)."""
        ...

    def grant_field_access(self, *, dry_run: bool) -> SetupReport:
        """Give the owners `field_access` finds without access the sales users' permission set (Salesforce),
        each assignment a change, a refused one with the CRM's reason; raise `ConfigurationError` where the
        CRM has no such access to grant."""
        ...

    def pipeline_stages(self) -> dict[str, list[str]]:
        """Every pipeline's stages as the CRM defines them (pipeline key as in Deal.pipeline -> stage
        values as in Deal.stage), in pipeline order; `commitments doctor` compares them to the playbook."""
        ...

    def api_calls(self) -> Counter[str]:
        """API calls made by this connector so far, by kind (e.g. "query", "composite", "search")."""
        ...

    def budget(self) -> ApiBudget | None:
        """The CRM's API budget as last seen in response headers, if known."""
        ...

    def close(self) -> None: ...
