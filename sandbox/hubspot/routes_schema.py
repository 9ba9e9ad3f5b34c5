"""Portal metadata routes: properties and property groups, deal pipelines and owners.

Creating a property or group that exists answers 409 OBJECT_ALREADY_EXISTS; a property must name an
existing group and a valid type/fieldType pair, and enumerations need options with distinct values.
Pipelines are HubSpot's default deal pipeline with stage metadata as strings (`probability`,
`isClosed`), exactly as the pipelines API returns them.
"""

from __future__ import annotations

from typing import Any

from sandbox.book import HUBSPOT_STAGES
from sandbox.http import Request, Response
from sandbox.hubspot.errors import HubSpotError, not_found, validation
from sandbox.hubspot.records import Router, flag
from sandbox.hubspot.routes_objects import object_type_of
from sandbox.hubspot.store import HubSpotStore

PROPS = r"/crm/v3/properties/(?P<type>[^/]+)"
PIPELINES = r"/crm/v3/pipelines/(?P<type>[^/]+)"
FIELD_TYPES = {
    "string": {"text", "textarea", "file", "html", "phonenumber"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}
PIPELINE_STAMP = "2020-01-01T00:00:00.000Z"
_EDITABLE = (
    "label",
    "description",
    "groupName",
    "options",
    "displayOrder",
    "hidden",
    "formField",
    "fieldType",
)


def _conflict(kind: str, name: str) -> HubSpotError:
    return HubSpotError(
        409, f"A {kind} named '{name}' already exists.", "OBJECT_ALREADY_EXISTS", context={"name": [name]}
    )


def _options(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    options = []
    for order, option in enumerate(raw or []):
        if not option.get("value") or not option.get("label"):
            raise validation("Each option needs a label and a value.")
        options.append(
            {
                "label": str(option["label"]),
                "value": str(option["value"]),
                "description": str(option.get("description") or ""),
                "displayOrder": int(option.get("displayOrder", order)),
                "hidden": bool(option.get("hidden", False)),
            }
        )
    values = [o["value"] for o in options]
    if len(set(values)) != len(values):
        raise validation("Option values must be unique.")
    return options


def _check_kind(kind: str, field_type: str, options: list[dict[str, Any]]) -> None:
    if kind not in FIELD_TYPES:
        raise validation(f"Property type {kind} is invalid; expected one of {sorted(FIELD_TYPES)}.")
    if field_type not in FIELD_TYPES[kind]:
        raise validation(f"fieldType {field_type} is not valid for a property of type {kind}.")
    if kind == "enumeration" and not options:
        raise validation("An enumeration property needs at least one option.")


class SchemaRoutes:
    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    # --- properties ---------------------------------------------------------------------------------

    def list_properties(self, request: Request) -> Response:
        archived = flag(request, "archived")
        results = [
            d for d in self.store.definitions(object_type_of(request)) if bool(d.get("archived")) == archived
        ]
        return Response.json({"results": results})

    def _definition(self, request: Request) -> dict[str, Any]:
        definition = self.store.definition(object_type_of(request), request.params["name"])
        if definition is None or definition.get("archived"):
            raise not_found(f"Unable to find property {request.params['name']}")
        return definition

    def get_property(self, request: Request) -> Response:
        return Response.json(self._definition(request))

    def create_property(self, request: Request) -> Response:
        object_type, body = object_type_of(request), request.json() or {}
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        if missing:
            raise validation(f"Missing required fields: {', '.join(missing)}")
        name = str(body["name"])
        existing = self.store.definition(object_type, name)
        if existing is not None and not existing.get("archived"):
            raise _conflict("property", name)
        if f"{object_type}/{body['groupName']}" not in self.store.tables["property_groups"]:
            raise validation(f"Property group {body['groupName']} does not exist.")
        kind, field_type = str(body["type"]), str(body["fieldType"])
        options = _options(body.get("options"))
        if kind == "bool" and not options:
            options = _options([{"label": "Yes", "value": "true"}, {"label": "No", "value": "false"}])
        _check_kind(kind, field_type, options)
        stamp = self.store.now()
        definition = {
            "name": name,
            "label": str(body["label"]),
            "type": kind,
            "fieldType": field_type,
            "description": str(body.get("description") or ""),
            "groupName": str(body["groupName"]),
            "options": options,
            "displayOrder": int(body.get("displayOrder", -1)),
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
            "hidden": bool(body.get("hidden", False)),
            "hubspotDefined": False,
            "formField": bool(body.get("formField", False)),
            "archived": False,
            "createdAt": stamp,
            "updatedAt": stamp,
            "createdUserId": "1",
            "updatedUserId": "1",
            "modificationMetadata": {"archivable": True, "readOnlyDefinition": False, "readOnlyValue": False},
        }
        with self.store.lock:
            self.store.tables["property_definitions"][f"{object_type}/{name}"] = definition
            self.store.version += 1
        return Response.json(definition, 201)

    def update_property(self, request: Request) -> Response:
        definition, body = self._definition(request), request.json() or {}
        if definition["modificationMetadata"]["readOnlyDefinition"]:
            raise validation(
                f"Property {definition['name']} is HubSpot-defined; its definition is read only."
            )
        changes = {k: body[k] for k in _EDITABLE if k in body}
        if "options" in changes:
            changes["options"] = _options(changes["options"])
        _check_kind(
            definition["type"],
            changes.get("fieldType", definition["fieldType"]),
            changes.get("options", definition["options"]),
        )
        with self.store.lock:
            definition.update(changes, updatedAt=self.store.now())
            self.store.version += 1
        return Response.json(definition)

    def archive_property(self, request: Request) -> Response:
        definition = self._definition(request)
        if not definition["modificationMetadata"]["archivable"]:
            raise validation(f"Property {definition['name']} cannot be archived.")
        definition.update(archived=True, archivedAt=self.store.now())
        self.store.version += 1
        return Response(204)

    # --- groups -------------------------------------------------------------------------------------

    def _groups(self, object_type: str) -> dict[str, dict[str, Any]]:
        prefix = object_type + "/"
        return {
            k[len(prefix) :]: g
            for k, g in self.store.tables["property_groups"].items()
            if k.startswith(prefix)
        }

    def list_groups(self, request: Request) -> Response:
        return Response.json({"results": list(self._groups(object_type_of(request)).values())})

    def get_group(self, request: Request) -> Response:
        group = self._groups(object_type_of(request)).get(request.params["name"])
        if group is None:
            raise not_found(f"Unable to find property group {request.params['name']}")
        return Response.json(group)

    def create_group(self, request: Request) -> Response:
        object_type, body = object_type_of(request), request.json() or {}
        if not body.get("name") or not body.get("label"):
            raise validation("Missing required fields: name, label")
        if body["name"] in self._groups(object_type):
            raise _conflict("property group", str(body["name"]))
        group = {
            "name": str(body["name"]),
            "label": str(body["label"]),
            "displayOrder": int(body.get("displayOrder", -1)),
            "archived": False,
        }
        self.store.tables["property_groups"][f"{object_type}/{group['name']}"] = group
        self.store.version += 1
        return Response.json(group, 201)

    def update_group(self, request: Request) -> Response:
        group = self._groups(object_type_of(request)).get(request.params["name"])
        if group is None:
            raise not_found(f"Unable to find property group {request.params['name']}")
        body = request.json() or {}
        group.update({k: body[k] for k in ("label", "displayOrder") if k in body})
        self.store.version += 1
        return Response.json(group)

    # --- pipelines and owners -------------------------------------------------------------------------

    def pipelines(self, request: Request) -> Response:
        object_type_of(request)
        return Response.json(
            {"results": [_pipeline()] if request.params["type"] in ("deals", "deal", "0-3") else []}
        )

    def pipeline(self, request: Request) -> Response:
        if request.params["pipelineId"] != "default" or request.params["type"] not in (
            "deals",
            "deal",
            "0-3",
        ):
            raise not_found(f"Unable to find pipeline {request.params['pipelineId']}")
        return Response.json(_pipeline())

    def stages(self, request: Request) -> Response:
        pipeline = _pipeline()
        if request.params["pipelineId"] != "default":
            raise not_found(f"Unable to find pipeline {request.params['pipelineId']}")
        return Response.json({"results": pipeline["stages"]})

    def owners(self, request: Request) -> Response:
        email = request.arg("email")
        rows = [o for o in self.store.tables["owners"].values() if email is None or o["email"] == email]
        after, limit = int(request.arg("after") or 0), min(int(request.arg("limit") or 100), 500)
        body: dict[str, Any] = {"results": rows[after : after + limit]}
        if after + limit < len(rows):
            body["paging"] = {"next": {"after": str(after + limit), "link": None}}
        return Response.json(body)

    def owner(self, request: Request) -> Response:
        owner = self.store.tables["owners"].get(request.params["ownerId"])
        if owner is None:
            raise not_found()
        return Response.json(owner)


def _pipeline() -> dict[str, Any]:
    stages = [
        {
            "id": stage_id,
            "label": label,
            "displayOrder": order,
            "metadata": {"isClosed": str(closed).lower(), "probability": f"{probability:g}"},
            "createdAt": PIPELINE_STAMP,
            "updatedAt": PIPELINE_STAMP,
            "archived": False,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
        }
        for order, (stage_id, label, closed, probability) in enumerate(HUBSPOT_STAGES)
    ]
    return {
        "id": "default",
        "label": "Sales Pipeline",
        "displayOrder": 0,
        "archived": False,
        "createdAt": PIPELINE_STAMP,
        "updatedAt": PIPELINE_STAMP,
        "stages": stages,
    }


def register(route: Router, store: HubSpotStore) -> None:
    routes = SchemaRoutes(store)
    # groups first: "/groups" would otherwise be read as a property named "groups"
    route("GET", PROPS + r"/groups", "properties.groups")(routes.list_groups)
    route("POST", PROPS + r"/groups", "properties.create_group")(routes.create_group)
    route("GET", PROPS + r"/groups/(?P<name>[^/]+)", "properties.group")(routes.get_group)
    route("PATCH", PROPS + r"/groups/(?P<name>[^/]+)", "properties.update_group")(routes.update_group)
    route("GET", PROPS, "properties.list")(routes.list_properties)
    route("POST", PROPS, "properties.create")(routes.create_property)
    route("GET", PROPS + r"/(?P<name>[^/]+)", "properties.get")(routes.get_property)
    route("PATCH", PROPS + r"/(?P<name>[^/]+)", "properties.update")(routes.update_property)
    route("DELETE", PROPS + r"/(?P<name>[^/]+)", "properties.archive")(routes.archive_property)
    route("GET", PIPELINES, "pipelines.list")(routes.pipelines)
    route("GET", PIPELINES + r"/(?P<pipelineId>[^/]+)", "pipelines.get")(routes.pipeline)
    route("GET", PIPELINES + r"/(?P<pipelineId>[^/]+)/stages", "pipelines.stages")(routes.stages)
    route("GET", r"/crm/v3/owners", "owners.list")(routes.owners)
    route("GET", r"/crm/v3/owners/(?P<ownerId>[^/]+)", "owners.get")(routes.owner)
