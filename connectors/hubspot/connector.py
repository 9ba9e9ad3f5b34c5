"""`HubSpotConnector`: the `Connector` protocol over the reader, writers and provisioning modules.

Construction does no I/O: the SDK is built on the first call. `apply` writes the changed owned deal
properties, then completes and creates the plugin's tasks, and returns per-record failures instead of
raising; a batch that stays unavailable after the retry policy gave up is reported as failures of its
deals (retried next run through `include_ids`), while configuration and budget errors stop the run,
carrying what was written before them (`ConnectorError.written`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime

from connectors.base import (
    ApiBudget,
    ApplyResult,
    FieldAccess,
    SetupReport,
    creates_after_completions,
    keeping,
    no_access_to_grant,
    or_failures,
)
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.pipelines import load_stages
from connectors.hubspot.read import DealReader
from connectors.hubspot.setup import provision
from connectors.hubspot.tasks import TaskWriter
from connectors.hubspot.write import update_deals
from core.models import Deal, TaskAction, TaskActionKind, WritePlan
from core.playbook import Playbook


class HubSpotConnector:
    crm = "hubspot"
    grants_field_access = False

    def __init__(
        self,
        config: HubSpotConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.client = HubSpotClient(config, sleep=sleep, clock=clock)
        self.reader = DealReader(self.client, frozenset(config.connected_call_dispositions))
        self.tasks = TaskWriter(self.client, self.reader)

    def __repr__(self) -> str:
        return f"HubSpotConnector(base_url={self.config.base_url!r})"

    def read_deals(
        self, since: datetime | None, until: datetime, *, include_ids: Collection[str] = ()
    ) -> Iterator[list[Deal]]:
        return self.reader.read(since, until, include_ids)

    def read_deals_by_id(self, ids: Sequence[str], until: datetime) -> Iterator[list[Deal]]:
        return self.reader.read_by_id(ids, until)

    def apply(self, plans: Sequence[WritePlan], playbook: Playbook) -> ApplyResult:
        result = ApplyResult()
        changed = [p for p in plans if p.changed]
        actions = [a for p in plans for a in p.tasks]
        completes = [a for a in actions if a.kind is TaskActionKind.COMPLETE]
        reopens = [a for a in actions if a.kind is TaskActionKind.REOPEN]
        creates = [a for a in actions if a.kind is TaskActionKind.CREATE]
        complete, reopen = self.tasks.complete, self.tasks.reopen
        with keeping(lambda: result):
            result.merge(or_failures(lambda: update_deals(self.client, changed, self.config.names),
                                     [p.deal_id for p in changed], "update"))
            result.merge(or_failures(lambda: complete(completes), _deals(completes), "complete_task"))
            result.merge(or_failures(lambda: reopen(reopens), _deals(reopens), "reopen_task"))
            creates = creates_after_completions(creates, result)
            result.merge(or_failures(lambda: self.tasks.create(creates), _deals(creates), "create_task"))
        return result

    def setup(self, playbook: Playbook, *, dry_run: bool) -> SetupReport:
        return provision(self.client, playbook, dry_run=dry_run)

    def field_access(self) -> FieldAccess | None:
        return None

    def grant_field_access(self, *, dry_run: bool) -> SetupReport:
        raise no_access_to_grant(self.crm)

    def pipeline_stages(self) -> dict[str, list[str]]:
        return {pipeline: [s.id for s in stages] for pipeline, stages in load_stages(self.client).items()}

    def api_calls(self) -> Counter[str]:
        return Counter(self.client.calls)

    def budget(self) -> ApiBudget | None:
        return self.client.budget()

    def close(self) -> None:
        self.client.close()


def _deals(actions: Sequence[TaskAction]) -> list[str]:
    return list(dict.fromkeys(a.deal_id for a in actions))
