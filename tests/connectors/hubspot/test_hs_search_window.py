"""The incremental search window: complete past the 10,000-result cap, even when every timestamp ties,
and when records leave the window while the run pages (keyset paging, never HubSpot's positional `after`)."""

from __future__ import annotations

import pytest

from connectors.base import FatalError
from connectors.hubspot.search import ChangeSource, Filter, changed_ids, search_request, window_filters


class FakeSearch:
    """Answers like HubSpot's first page of a query: filter, sort by id, say whether more matched."""

    def __init__(self, records: dict[int, int], page_size: int = 200) -> None:
        self.records = sorted(records.items())
        self.page_size = page_size
        self.calls = 0
        self._matches: dict[tuple[tuple[tuple[str, str], ...], ...], list[int]] = {}

    def __call__(self, filters: list[Filter]) -> tuple[list[str], bool]:
        self.calls += 1
        key = tuple(tuple(sorted(f.items())) for f in filters)
        if key not in self._matches:
            self._matches[key] = [i for i, stamp in self.records if all(_match(f, i, stamp) for f in filters)]
        ids = self._matches[key]
        return [str(i) for i in ids[: self.page_size]], len(ids) > self.page_size


def _match(f: Filter, object_id: int, stamp: int) -> bool:
    value = object_id if f["propertyName"] == "hs_object_id" else stamp
    bound = int(f["value"])
    return {"GTE": value >= bound, "LTE": value <= bound, "GT": value > bound}[f["operator"]]


@pytest.mark.parametrize("count", [0, 1, 199, 200, 10_000, 10_001, 25_000])
def test_given_records_sharing_one_timestamp_when_searched_then_each_id_once(count: int) -> None:
    fake = FakeSearch({i: 1_000 for i in range(1, count + 1)})
    ids = list(changed_ids(fake, 1_000, 1_000))
    assert ids == [str(i) for i in range(1, count + 1)]
    assert fake.calls == max(1, -(-count // 200))


def test_given_records_outside_window_when_searched_then_only_window_returned() -> None:
    fake = FakeSearch({1: 5, 2: 10, 3: 15, 4: 20, 5: 25})
    assert list(changed_ids(fake, 10, 20)) == ["2", "3", "4"]


def test_given_a_search_that_never_progresses_when_restarting_then_loop_guard_stops() -> None:
    def stuck(_filters: list[Filter]) -> tuple[list[str], bool]:
        return ["1"] * 200, True

    with pytest.raises(FatalError, match="no progress"):
        list(changed_ids(stuck, 0, 1))


class LiveSearch(FakeSearch):
    """HubSpot re-runs the query for every page: `after` is a position in the result set as it is now."""

    def __init__(self, records: dict[int, int], edit_after_first_page: int) -> None:
        super().__init__(records)
        self.edit = edit_after_first_page

    def __call__(self, filters: list[Filter]) -> tuple[list[str], bool]:
        if self.calls == 1:  # a rep edits a record already returned: it leaves the window (modified later)
            self.records = [(i, 10**9 if i == self.edit else stamp) for i, stamp in self.records]
        self._matches.clear()
        return super().__call__(filters)


def test_given_a_returned_record_edited_while_paging_when_searched_then_no_later_record_is_skipped() -> None:
    fake = LiveSearch({i: 1_000 for i in range(1, 451)}, edit_after_first_page=50)
    ids = list(changed_ids(fake, 1_000, 2_000))
    assert ids == [str(i) for i in range(1, 451)]  # with offset paging, id 201 would be skipped


def test_given_window_when_request_built_then_ids_only_sorted_by_object_id() -> None:
    body = search_request(window_filters(1, 2, 99), 200)
    assert body["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    assert (body["properties"], body["limit"]) == (["hs_object_id"], 200)
    assert "after" not in body  # keyset paging: never HubSpot's positional `after`
    last_filter = body["filterGroups"][0]["filters"][-1]
    assert last_filter == {"propertyName": "hs_object_id", "operator": "GT", "value": "99"}


def test_given_contacts_with_a_role_as_source_when_request_built_then_their_date_and_role_filter() -> None:
    source = ChangeSource("contacts", modified="lastmodifieddate", having="hs_buying_role")
    filters = search_request(window_filters(1, 2, None, source), 200)["filterGroups"][0]["filters"]
    assert filters == [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1"},
        {"propertyName": "lastmodifieddate", "operator": "LTE", "value": "2"},
        {"propertyName": "hs_buying_role", "operator": "HAS_PROPERTY"},
    ]
