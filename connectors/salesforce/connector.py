"""`SalesforceConnector`: the `Connector` protocol over the reader, writer, task writer and provisioner.

Construction does no I/O: the client logs in on the first call that needs it, and the org's schema is
discovered once (and again after `setup`, which changes what the integration user can see).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime

from connectors.base import (
    ApiBudget,
    ApplyResult,
    ConfigurationError,
    FieldAccess,
    RecordFailure,
    SetupReport,
    TransientError,
    creates_after_completions,
    keeping,
    or_failures,
    unavailable,
)
from connectors.salesforce.access import FieldAccessCheck
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.read import Reader, discover
from connectors.salesforce.session import SalesforceApi
from connectors.salesforce.setup import Provisioner
from connectors.salesforce.soql import OrgSchema
from connectors.salesforce.tasks import TaskWriter
from connectors.salesforce.write import PendingWrite, Writer, update_writes
from core.models import Deal, TaskAction, TaskActionKind, WritePlan
from core.playbook import Playbook


class SalesforceConnector:
    crm = "salesforce"
    grants_field_access = True

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        playbook: Playbook | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """`playbook` lets the reader accept picklist labels as well as ids; `sleep` is for tests."""
        self.config = config
        self._api = SalesforceApi(config, sleep=sleep)
        self._schema: OrgSchema | None = None
        lookup = playbook.commitment_by_label if playbook is not None else None
        self._reader = Reader(self._api, config, self.schema, lookup)
        self._writer = Writer(self._api, config)
        self._tasks = TaskWriter(self._api, config)

    def schema(self) -> OrgSchema:
        if self._schema is None:
            self._schema = discover(self._api)
        return self._schema

    def read_deals(
        self, since: datetime | None, until: datetime, *, include_ids: Collection[str] = ()
    ) -> Iterator[list[Deal]]:
        return self._reader.read(since, until, include_ids)

    def read_deals_by_id(self, ids: Sequence[str], until: datetime) -> Iterator[list[Deal]]:
        return self._reader.read_by_id(ids, until)

    def apply(self, plans: Sequence[WritePlan], playbook: Playbook) -> ApplyResult:
        """Field updates (composite, or Bulk 2.0 above the threshold), task completions and reopenings, then
        creates.
        What Salesforce stays unavailable for after the retry policy gave up becomes failures of those
        deals (retried next run), as with HubSpot; configuration and budget errors stop the run, carrying
        what was written before them (`ConnectorError.written`)."""
        self._api.caller.check_budget(self.config.api_reserve_fraction)
        self._require_owned_fields(plans)
        actions = [action for plan in plans for action in plan.tasks]
        updates = update_writes(plans, self.config.field_names())
        completions, failures = self._task_writes(actions)
        result = ApplyResult(failures=failures)
        with keeping(lambda: result):
            if len(updates) > self.config.bulk_threshold:
                deal_ids = [w.deal_id for w in updates]
                result.merge(or_failures(lambda: self._writer.bulk_update(updates), deal_ids, "update"))
                result.merge(self._writer.composite_update(completions))
            else:
                result.merge(self._writer.composite_update([*updates, *completions]))
            creates = [a for a in actions if a.kind is TaskActionKind.CREATE]
            result.merge(self._tasks.create(creates_after_completions(creates, result)))
        return result

    def _require_owned_fields(self, plans: Sequence[WritePlan]) -> None:
        """Stop with one ConfigurationError when a field the plans write is not in the org (setup has not
        run, or an admin deleted the field): every update names it, so otherwise each deal would fail on
        its own with INVALID_FIELD, run after run, and its other changed fields would never be written.
        Checked against the schema the read discovered: applying never costs describe calls of its own."""
        schema = self._schema
        if schema is None:
            return
        names = self.config.field_names().owned()
        written = {names[field.value] for plan in plans for field in plan.changed}
        missing = sorted(name for name in written if not schema.has("Opportunity", name))
        if missing:
            raise ConfigurationError(
                f"Salesforce: the org lacks the plugin's fields Opportunity.{', Opportunity.'.join(missing)} "
                "(deleted, or setup has not run); run `commitments setup` to create them"
            )

    def _task_writes(self, actions: list[TaskAction]) -> tuple[list[PendingWrite], list[RecordFailure]]:
        """The composite records closing and reopening tasks; if looking up the org's task statuses (or the
        tasks to complete known only by key) stays unavailable, those deals' task writes are failures to
        retry next run instead."""
        writes: list[PendingWrite] = []
        failures: list[RecordFailure] = []
        for kind, operation, build in (
            (TaskActionKind.COMPLETE, "complete_task", self._tasks.completions),
            (TaskActionKind.REOPEN, "reopen_task", self._tasks.reopenings),
        ):
            todo = [a for a in actions if a.kind is kind]
            try:
                writes += build(todo) if todo else []
            except TransientError as exc:
                failures += unavailable(dict.fromkeys(a.deal_id for a in todo), operation, exc)
        return writes, failures

    def setup(self, playbook: Playbook, *, dry_run: bool) -> SetupReport:
        report = Provisioner(self._api, self.config).run(playbook, dry_run=dry_run)
        if not dry_run:
            self._schema = None  # new fields become visible once the permission set is assigned
        return report

    def field_access(self) -> FieldAccess | None:
        return FieldAccessCheck(self._api, self.config).access()

    def grant_field_access(self, *, dry_run: bool) -> SetupReport:
        return FieldAccessCheck(self._api, self.config).grant(dry_run=dry_run)

    def pipeline_stages(self) -> dict[str, list[str]]:
        stages = sorted(self.schema().stages.items(), key=lambda item: item[1].sort_order)
        return {"salesforce": [name for name, _ in stages]}

    def api_calls(self) -> Counter[str]:
        return Counter(self._api.caller.calls)

    def budget(self) -> ApiBudget | None:
        return self._api.tracker.budget()

    def close(self) -> None:
        self._api.close()
