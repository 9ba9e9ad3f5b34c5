"""Associations v4: batch read with labels and per-object paging, the labels catalogue, and creation.

Batch read answers 207 with an OBJECT_NOT_FOUND / `crm.associations.NO_ASSOCIATIONS_FOUND` error for
each input that has no associations of the asked type (whether or not the object exists), exactly as
HubSpot does; a connector must treat those as "none", not as failures. An object with more
associations than `store.association_page_size` gets `paging.next.after` on its result and is read
on by sending the same id again with that `after`.
"""

from __future__ import annotations

from typing import Any

from sandbox.http import Request, Response
from sandbox.hubspot.errors import HubSpotError, RecordError, validation
from sandbox.hubspot.labels import spec_json
from sandbox.hubspot.records import Router, batch_inputs, batch_response, resolve_type
from sandbox.hubspot.schema import OBJECT_TYPES
from sandbox.hubspot.store import HubSpotStore

PAIR = r"/crm/v4/associations/(?P<from>[^/]+)/(?P<to>[^/]+)"
ONE = r"/crm/v4/objects/(?P<from>[^/]+)/(?P<fromId>[^/]+)/associations"
MAX_READ_INPUTS, MAX_WRITE_INPUTS = 1000, 100


def _types(request: Request) -> tuple[str, str]:
    return resolve_type(request.params["from"]), resolve_type(request.params["to"])


def _inputs(request: Request, limit: int) -> list[dict[str, Any]]:
    return batch_inputs(request.json(), limit)


def _id_of(value: Any) -> str:
    return str(value.get("id") if isinstance(value, dict) else value)


class AssociationRoutes:
    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def _targets(
        self, from_type: str, from_id: str, to_type: str, after: int, size: int
    ) -> tuple[list[Any], int | None]:
        if self.store.get(from_type, from_id) is None:
            return [], None  # unknown or archived: HubSpot reports it as having no associations
        linked = [  # an archived record drops out of its associations until it is restored
            (to_id, type_ids)
            for to_id, type_ids in self.store.associated(from_type, from_id, to_type).items()
            if self.store.get(to_type, to_id) is not None
        ]
        page = [
            {
                "toObjectId": int(to_id),
                "associationTypes": [spec_json(self.store.label(t) or {}) for t in type_ids],
            }
            for to_id, type_ids in linked[after : after + size]
        ]
        return page, (after + size if after + size < len(linked) else None)

    def batch_read(self, request: Request) -> Response:
        from_type, to_type = _types(request)
        results, errors = [], []
        for item in _inputs(request, MAX_READ_INPUTS):
            from_id, after = _id_of(item), int(item.get("after") or 0) if isinstance(item, dict) else 0
            targets, following = self._targets(
                from_type, from_id, to_type, after, self.store.association_page_size
            )
            if not targets:
                errors.append(_none_found(from_type, from_id, to_type))
                continue
            result: dict[str, Any] = {"from": {"id": from_id}, "to": targets}
            if following is not None:
                result["paging"] = {"next": {"after": str(following), "link": None}}
            results.append(result)
        return batch_response(self.store, results, errors)

    def list_for_object(self, request: Request) -> Response:
        from_type, to_type = _types(request)
        limit = min(int(request.arg("limit") or 500), 500)
        after = int(request.arg("after") or 0)
        targets, following = self._targets(from_type, request.params["fromId"], to_type, after, limit)
        body: dict[str, Any] = {"results": targets}
        if following is not None:
            body["paging"] = {"next": {"after": str(following), "link": None}}
        return Response.json(body)

    def labels(self, request: Request) -> Response:
        from_type, to_type = _types(request)
        return Response.json(
            {"results": [spec_json(e) for e in self.store.labels_between(from_type, to_type)]}
        )

    def create_label(self, request: Request) -> Response:
        from_type, to_type = _types(request)
        body = request.json() or {}
        if not body.get("label"):
            raise validation("label is required.")
        self.store.add_label(from_type, to_type, str(body["label"]))
        return self.labels(request)

    def _link(self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: list[int]) -> None:
        for object_type, object_id in ((from_type, from_id), (to_type, to_id)):
            if self.store.get(object_type, object_id) is None:
                raise validation(f"{OBJECT_TYPES[object_type][1]} {object_id} does not exist.")
        for type_id in type_ids:
            entry = self.store.label(type_id)
            if entry is None or (entry["fromObjectType"], entry["toObjectType"]) != (from_type, to_type):
                raise validation(
                    f"{type_id} is not a valid association type id from {from_type} to {to_type}."
                )
        self.store.associate(from_type, from_id, to_type, to_id, type_ids)

    def _pair_json(self, from_type: str, from_id: str, to_type: str, to_id: str) -> dict[str, Any]:
        type_ids = self.store.associated(from_type, from_id, to_type).get(to_id, [])
        return {
            "fromObjectTypeId": OBJECT_TYPES[from_type][0],
            "fromObjectId": int(from_id),
            "toObjectTypeId": OBJECT_TYPES[to_type][0],
            "toObjectId": int(to_id),
            "labels": [
                str((self.store.label(t) or {}).get("label"))
                for t in type_ids
                if (self.store.label(t) or {}).get("label")
            ],
        }

    def _default_json(self, from_type: str, from_id: str, to_type: str, to_id: str) -> list[dict[str, Any]]:
        forward, backward = (
            self.store.default_type_id(from_type, to_type),
            self.store.default_type_id(to_type, from_type),
        )
        return [
            {
                "from": {"id": a},
                "to": {"id": b},
                "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": t},
            }
            for a, b, t in ((from_id, to_id, forward), (to_id, from_id, backward))
        ]

    def put_default(self, request: Request) -> Response:
        from_type, to_type = _types(request)
        from_id, to_id = request.params["fromId"], request.params["toId"]
        self._link(from_type, from_id, to_type, to_id, [])
        return batch_response(self.store, self._default_json(from_type, from_id, to_type, to_id), [])

    def put_labeled(self, request: Request) -> Response:
        from_type, to_type = _types(request)
        from_id, to_id = request.params["fromId"], request.params["toId"]
        specs = request.json() or []
        self._link(from_type, from_id, to_type, to_id, [int(s.get("associationTypeId") or 0) for s in specs])
        return Response.json(self._pair_json(from_type, from_id, to_type, to_id), 201)

    def batch_create(self, request: Request) -> Response:
        from_type, to_type = _types(request)
        results, errors = [], []
        for item in _inputs(request, MAX_WRITE_INPUTS):
            from_id, to_id = _id_of(item.get("from")), _id_of(item.get("to"))
            type_ids = [int(t.get("associationTypeId") or 0) for t in item.get("types") or []]
            try:
                self._link(from_type, from_id, to_type, to_id, type_ids)
            except HubSpotError as error:  # this input fails, the others go on
                errors.append(RecordError("VALIDATION_ERROR", str(error), {"fromObjectId": [from_id]}))
                continue
            results.append(self._pair_json(from_type, from_id, to_type, to_id))
        return batch_response(self.store, results, errors, ok_status=201)

    def batch_default(self, request: Request) -> Response:
        from_type, to_type = _types(request)
        results: list[dict[str, Any]] = []
        for item in _inputs(request, MAX_WRITE_INPUTS):
            from_id, to_id = _id_of(item.get("from")), _id_of(item.get("to"))
            self._link(from_type, from_id, to_type, to_id, [])
            results.extend(self._default_json(from_type, from_id, to_type, to_id))
        return batch_response(self.store, results, [])


def _none_found(from_type: str, from_id: str, to_type: str) -> RecordError:
    source, target = OBJECT_TYPES[from_type][1], OBJECT_TYPES[to_type][1]
    return RecordError(
        "OBJECT_NOT_FOUND",
        f"No {target} is associated with {source} {from_id}.",
        {"fromObjectId": [from_id], "fromObjectType": [source], "toObjectType": [target]},
        sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
    )


def register(route: Router, store: HubSpotStore) -> None:
    routes = AssociationRoutes(store)
    route("POST", PAIR + r"/batch/read", "associations.batch_read")(routes.batch_read)
    route("POST", PAIR + r"/batch/create", "associations.batch_create")(routes.batch_create)
    route("POST", PAIR + r"/batch/associate/default", "associations.batch_default")(routes.batch_default)
    route("GET", PAIR + r"/labels", "associations.labels")(routes.labels)
    route("POST", PAIR + r"/labels", "associations.create_label")(routes.create_label)
    route("PUT", ONE + r"/default/(?P<to>[^/]+)/(?P<toId>[^/]+)", "associations.put_default")(
        routes.put_default
    )
    route("PUT", ONE + r"/(?P<to>[^/]+)/(?P<toId>[^/]+)", "associations.put")(routes.put_labeled)
    route("GET", ONE + r"/(?P<to>[^/]+)", "associations.list")(routes.list_for_object)
