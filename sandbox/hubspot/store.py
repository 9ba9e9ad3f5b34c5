"""The portal's data: records, property definitions, association types and associations, all JSON-able.

Everything lives in `store.tables` (a dict of tables of JSON-able dicts keyed by string id) so
`sandbox/persist.py` can save and load a portal generically; call `reindex()` after replacing tables.
Records are `tables[<objectType>][<id>] = {"id", "properties", "createdAt", "updatedAt", "archived",
"history"}`. Associations are `tables["associations"]["<from>|<fromId>|<to>"] = {toId: [typeId, ...]}`,
stored in both directions; that layout is itself the index, so reading one object's associations is a
dict lookup. Every write bumps the record's hs_lastmodifieddate; an association change bumps both ends,
as HubSpot's association-count properties do, so a deal comes back into an incremental read when an
activity is logged on it. Editing an engagement that is already associated (a meeting's outcome) bumps
only the engagement, as on a real portal: a connector must also poll engagements to notice it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sandbox.book import HUBSPOT_STAGES
from sandbox.hubspot import labels as labels_mod
from sandbox.hubspot.errors import PropertyProblem, not_found
from sandbox.hubspot.schema import (
    OBJECT_TYPES,
    created_property,
    default_groups,
    default_property_definitions,
    modified_properties,
)
from sandbox.hubspot.values import iso_ms, normalize

Record = dict[str, Any]
_STAGES = {stage_id: (closed, probability) for stage_id, _label, closed, probability in HUBSPOT_STAGES}
FIRST_ID = 10_001
FREEZE_AT_RECORDS = 20_000


class HubSpotStore:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        association_page_size: int = 500,
        search_page_cap: int = 10_000,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.association_page_size = association_page_size
        self.search_page_cap = search_page_cap
        self.fail_record_ids: set[str] = set()  # test hook: writes to these ids fail per record
        self.lock = threading.RLock()
        self.version = 0  # bumped on every change to any table; search caches and state saving key on it
        created = iso_ms(self.clock())
        self.tables: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in OBJECT_TYPES}
        self.tables.update(
            {
                "associations": {},
                "association_labels": labels_mod.default_labels(),
                "property_definitions": default_property_definitions(created),
                "property_groups": default_groups(),
                "owners": {},
            }
        )
        self._next_id = FIRST_ID
        self._default_ids: dict[tuple[str, str], int] | None = None
        self.frozen = False  # see settle()

    def reindex(self) -> None:
        """Recompute derived state after `tables` were loaded from elsewhere."""
        ids = [int(i) for name in OBJECT_TYPES for i in self.tables.get(name, {}) if i.isdigit()]
        self._next_id = max([FIRST_ID - 1, *ids]) + 1
        self._default_ids = None
        self.version += 1
        self.settle()

    def settle(self) -> None:
        """Freeze a large portal out of the cyclic GC: it is long-lived, and every full collection
        (one comes along during a search, say) would otherwise walk its million objects again.
        `HubSpotSandbox.stop()` thaws it so a stopped portal can be collected."""
        if sum(len(self.tables[name]) for name in OBJECT_TYPES) >= FREEZE_AT_RECORDS:
            gc.freeze()
            self.frozen = True

    def now(self) -> str:
        return iso_ms(self.clock())

    def new_id(self) -> str:
        with self.lock:
            self._next_id += 1
            return str(self._next_id - 1)

    # --- property definitions -------------------------------------------------------------------------

    def definition(self, object_type: str, name: str) -> dict[str, Any] | None:
        return self.tables["property_definitions"].get(f"{object_type}/{name}")

    def definitions(self, object_type: str) -> list[dict[str, Any]]:
        prefix = object_type + "/"
        return [d for key, d in self.tables["property_definitions"].items() if key.startswith(prefix)]

    def check(
        self, object_type: str, properties: dict[str, Any]
    ) -> tuple[dict[str, str | None], list[PropertyProblem]]:
        """Normalized values and the problems HubSpot would report for a write of `properties`."""
        values: dict[str, str | None] = {}
        problems: list[PropertyProblem] = []
        for name, raw in properties.items():
            definition = self.definition(object_type, name)
            if definition is None or definition.get("archived"):
                problems.append(
                    PropertyProblem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            if definition["modificationMetadata"]["readOnlyValue"]:
                problems.append(
                    PropertyProblem(
                        name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
                    )
                )
                continue
            result = normalize(definition, raw)
            if isinstance(result, PropertyProblem):
                problems.append(result)
            elif name == "hubspot_owner_id" and result is not None and result not in self.tables["owners"]:
                problems.append(
                    PropertyProblem(name, "INVALID_OWNER_ID", f"{result} is not a valid owner id")
                )
            else:
                values[name] = result
        return values, problems

    # --- records --------------------------------------------------------------------------------------

    def get(self, object_type: str, object_id: str, *, archived: bool = False) -> Record | None:
        record = self.tables[object_type].get(str(object_id))
        if record is None or bool(record.get("archived")) != archived:
            return None
        return record

    def require(self, object_type: str, object_id: str) -> Record:
        record = self.get(object_type, object_id)
        if record is None:
            raise not_found()
        return record

    def insert(
        self,
        object_type: str,
        properties: Mapping[str, str | None],
        *,
        created_at: str | None = None,
        updated_at: str | None = None,
        object_id: str | None = None,
    ) -> Record:
        """Add a record with already-normalized values (the importer's and create's common path)."""
        with self.lock:
            object_id = object_id or self.new_id()
            created = created_at or self.now()
            updated = updated_at or created
            props = {k: v for k, v in properties.items() if v is not None}
            props.update({"hs_object_id": object_id, created_property(object_type): created})
            props.update(dict.fromkeys(modified_properties(object_type), updated))
            # history starts empty: a value never written since creation reads as set at createdAt
            record: Record = {
                "id": object_id,
                "properties": props,
                "createdAt": created,
                "updatedAt": updated,
                "archived": False,
                "history": {},
            }
            self.tables[object_type][object_id] = record
            self._derive(object_type, record, properties, created)
            self.version += 1
            return record

    def update(
        self, object_type: str, object_id: str, values: dict[str, str | None], source: str = "INTEGRATION"
    ) -> Record:
        """Apply checked values to an existing record, keeping history and derived properties."""
        with self.lock:
            record = self.require(object_type, object_id)
            stamp = self.now()
            changed = {}
            for name, value in values.items():
                if record["properties"].get(name) == value:
                    continue
                changed[name] = value
                history = record["history"].setdefault(name, [])
                if not history and name in record["properties"]:  # the value it was created with
                    history.append([record["properties"][name], record["createdAt"], "IMPORT"])
                history.insert(0, [value or "", stamp, source])
                if value is None:
                    record["properties"].pop(name, None)
                else:
                    record["properties"][name] = value
            if changed:  # writing the values a record already has records no history and no change
                self._derive(object_type, record, changed, stamp)
                self._touch(object_type, record, stamp)
            return record

    def archive(self, object_type: str, object_id: str) -> None:
        with self.lock:
            record = self.require(object_type, object_id)
            stamp = self.now()
            record.update(archived=True, archivedAt=stamp)
            self._touch(object_type, record, stamp)

    def _touch(self, object_type: str, record: Record, stamp: str) -> None:
        record["updatedAt"] = stamp
        for name in modified_properties(object_type):
            record["properties"][name] = stamp
        self.version += 1

    def _derive(
        self, object_type: str, record: Record, changed: Mapping[str, str | None], stamp: str
    ) -> None:
        """HubSpot's calculated properties that follow from a write."""
        props = record["properties"]
        if object_type == "deals" and changed.get("dealstage") in _STAGES:
            stage = str(changed["dealstage"])
            closed, probability = _STAGES[stage]
            props.update(
                hs_is_closed=str(closed).lower(),
                hs_is_closed_won=str(stage == "closedwon").lower(),
                hs_deal_stage_probability=f"{probability:g}",
            )
            props.setdefault(f"hs_date_entered_{stage}", stamp)
            props[f"hs_v2_date_entered_{stage}"] = stamp
            stages = record["history"].get("dealstage") or []
            if len(stages) > 1 and stages[1][0]:  # the stage it left
                props[f"hs_date_exited_{stages[1][0]}"] = props[f"hs_v2_date_exited_{stages[1][0]}"] = stamp
        if object_type == "tasks" and "hs_task_status" in changed:
            if changed["hs_task_status"] == "COMPLETED":
                props["hs_task_completion_date"] = stamp
            else:
                props.pop("hs_task_completion_date", None)

    def live(self, object_type: str) -> Iterable[Record]:
        return (r for r in self.tables[object_type].values() if not r.get("archived"))

    # --- associations ---------------------------------------------------------------------------------

    def label(self, type_id: int) -> dict[str, Any] | None:
        return self.tables["association_labels"].get(str(type_id))

    def labels_between(self, from_type: str, to_type: str) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.tables["association_labels"].values()
            if entry["fromObjectType"] == from_type and entry["toObjectType"] == to_type
        ]

    def default_type_id(self, from_type: str, to_type: str) -> int | None:
        if self._default_ids is None:  # cached: association writes ask for it on every call
            self._default_ids = {
                (e["fromObjectType"], e["toObjectType"]): int(e["typeId"])
                for e in self.tables["association_labels"].values()
                if e["category"] == labels_mod.HUBSPOT_DEFINED and e["label"] is None
            }
        return self._default_ids.get((from_type, to_type))

    def add_label(self, from_type: str, to_type: str, label: str) -> int:
        """Create a user-defined label pair (both directions); returns the from->to type id."""
        with self.lock:
            ids = [int(k) for k in self.tables["association_labels"]]
            type_id = max([labels_mod.FIRST_USER_TYPE_ID - 1, *ids]) + 1
            self.tables["association_labels"].update(
                labels_mod.pair(from_type, to_type, type_id, type_id + 1, label, labels_mod.USER_DEFINED)
            )
            self.version += 1
            return type_id

    def associated(self, from_type: str, from_id: str, to_type: str) -> dict[str, list[int]]:
        return self.tables["associations"].get(f"{from_type}|{from_id}|{to_type}", {})

    def associate(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        type_ids: Iterable[int],
        *,
        bump: bool = True,
    ) -> None:
        """Add typed associations in both directions; an unlabeled default type always comes along."""
        with self.lock:
            forward = self.tables["associations"].setdefault(f"{from_type}|{from_id}|{to_type}", {})
            backward = self.tables["associations"].setdefault(f"{to_type}|{to_id}|{from_type}", {})
            wanted = list(type_ids)
            default = self.default_type_id(from_type, to_type)
            if default is not None and default not in wanted:
                wanted.insert(0, default)
            for type_id in wanted:
                inverse = int(self.tables["association_labels"][str(type_id)]["inverseTypeId"])
                _add(forward.setdefault(str(to_id), []), type_id)
                _add(backward.setdefault(str(from_id), []), inverse)
            self.version += 1
            if {from_type, to_type} == {"deals", "contacts"}:
                self._count_contacts(from_id if from_type == "deals" else to_id)
            if bump:
                stamp = self.now()
                for object_type, object_id in ((from_type, from_id), (to_type, to_id)):
                    record = self.get(object_type, object_id)
                    if record is not None:
                        self._touch(object_type, record, stamp)

    def _count_contacts(self, deal_id: str) -> None:
        """HubSpot's calculated num_associated_contacts, kept as associations change."""
        deal = self.tables["deals"].get(str(deal_id))
        if deal is not None:
            deal["properties"]["num_associated_contacts"] = str(
                len(self.associated("deals", deal_id, "contacts"))
            )


def _add(type_ids: list[int], type_id: int) -> None:
    if type_id not in type_ids:
        type_ids.append(type_id)
