"""Associations v4 batch reads: per-input paging, and a cursor that repeats never pages forever nor hands on
a partial list (which would let the task re-check miss a plugin task and create it a second time)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from hubspot_support import FakeClock, connector_for, deal_task_keys, sync

from connectors.base import FatalError
from connectors.hubspot.associations import read_associations
from core.models import OwnedFields, TaskActionKind, WritePlan
from core.playbook import Playbook
from sandbox.hubspot import HubSpotSandbox
from sandbox.hubspot.routes_associations import AssociationRoutes


class PagingClient:
    """Answers every association read with one more target and the same `after` cursor for deal 1."""

    def __init__(self) -> None:
        self.config = SimpleNamespace(association_batch_size=1000)
        self.calls = 0

    def call(self, kind: str, api: str, method: str, *args: Any) -> dict[str, Any]:
        self.calls += 1
        assert self.calls < 10, "paged forever"
        target = {"toObjectId": 100 + self.calls, "associationTypes": []}
        return {"results": [{"from": {"id": "1"}, "to": [target], "paging": {"next": {"after": "MTA="}}}]}


def test_given_a_cursor_answered_twice_when_reading_associations_then_it_stops_with_an_error() -> None:
    client = PagingClient()

    with pytest.raises(FatalError, match="same deals->notes association page twice"):
        read_associations(client, "deals", "notes", ["1"])  # type: ignore[arg-type]

    assert client.calls == 2  # the first page, then the cursor once; its repeat is not followed


def test_given_a_cursor_answered_twice_while_rechecking_a_deals_tasks_when_creating_then_no_second_task(
    portal: HubSpotSandbox, playbook: Playbook, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A task created by a run that died before recording it is found by the re-check through the
    # deal->tasks association. If a repeating cursor ended that read quietly, the task on the unread pages
    # would be missed and created again.
    connector_for(portal).setup(playbook, dry_run=False)
    first = sync(connector_for(portal), playbook, None, clock.now)
    creates = [a for p in first.plans for a in p.tasks if a.kind is TaskActionKind.CREATE]
    action = next(a for a in creates if len(portal.store.associated("deals", a.deal_id, "tasks")) >= 3)
    pages = AssociationRoutes._targets

    def stuck(self: AssociationRoutes, *args: Any) -> tuple[list[Any], int | None]:
        page, following = pages(self, *args)
        after = args[3]
        return page, (after if after and following is not None else following)  # page 2 names itself next

    monkeypatch.setattr(AssociationRoutes, "_targets", stuck)
    portal.store.association_page_size = 1

    with pytest.raises(FatalError, match="association page twice"):
        connector_for(portal).apply(
            [WritePlan(deal_id=action.deal_id, values=OwnedFields(), tasks=(action,))], playbook
        )

    assert deal_task_keys(portal, action.deal_id) == [action.key]
