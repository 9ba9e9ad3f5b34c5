"""Associations v4 batch reads: up to 1,000 ids per call, following each input's own `after` cursor.

`POST /crm/v4/associations/{from}/{to}/batch/read` answers one row per input id with its associated ids
and association types (labels included) and, when an object has more associations than one page, a
`paging.next.after` for that input alone; those inputs are asked again together until none is left. Ids
without associations come back as per-input errors (207), which simply mean "none". A cursor answered twice
stops the read with a FatalError (as the Salesforce paginator and the HubSpot search do): stopping quietly
would hand on a partial list, and the task re-check would then miss a plugin task and create it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from connectors.base import FatalError, chunked
from connectors.hubspot.client import HubSpotClient

Row = dict[str, Any]  # {"toObjectId": 123, "associationTypes": [{"category", "typeId", "label"}]}


def read_associations(
    client: HubSpotClient, from_type: str, to_type: str, ids: Iterable[str]
) -> dict[str, list[Row]]:
    """{from id: [association rows]} for every id given (an empty list when it has none)."""
    unique = list(dict.fromkeys(str(i) for i in ids))
    found: dict[str, list[Row]] = {object_id: [] for object_id in unique}
    for chunk in chunked(unique, client.config.association_batch_size):
        pending: list[dict[str, str]] = [{"id": object_id} for object_id in chunk]
        asked: set[tuple[str, str]] = set()  # (id, cursor) pairs already followed
        while pending:
            data = client.call(
                "assoc_read", "associations.batch", "get_page", from_type, to_type, {"inputs": pending}
            )
            pending = []
            for result in data.get("results", []):
                from_id = str(result["from"]["id"])
                found.setdefault(from_id, []).extend(result.get("to", []))
                after = (result.get("paging") or {}).get("next", {}).get("after")
                if not after:
                    continue
                # A cursor answered twice would page forever (loop guard); what it leaves unread may hold
                # a plugin task or a buyer's meeting, so the read fails instead of returning a partial list.
                if (from_id, str(after)) in asked:
                    raise FatalError(
                        f"HubSpot answered the same {from_type}->{to_type} association page twice for "
                        f"{from_type} {from_id}; stopping"
                    )
                asked.add((from_id, str(after)))
                pending.append({"id": from_id, "after": str(after)})
    return found


def associated_ids(rows: dict[str, list[Row]]) -> list[str]:
    """All distinct target ids of an association read, in first-seen order."""
    return list(dict.fromkeys(str(row["toObjectId"]) for found in rows.values() for row in found))
