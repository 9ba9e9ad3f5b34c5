"""Associations v4 batch reads: per-input paging, and a cursor that repeats never pages forever."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from connectors.hubspot.associations import read_associations


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


def test_given_a_cursor_answered_twice_when_reading_associations_then_stops_and_keeps_what_it_read() -> None:
    client = PagingClient()

    found = read_associations(client, "deals", "notes", ["1"])  # type: ignore[arg-type]

    assert client.calls == 2  # the first page, then the cursor once; its repeat is not followed
    assert [row["toObjectId"] for row in found["1"]] == [101, 102]
