"""Metadata API over SOAP (`POST /services/Soap/m/{ver}`), as simple-salesforce's zeep client calls it.

Supported calls: createMetadata and updateMetadata (SaveResult), upsertMetadata (UpsertResult with
`created`), readMetadata (ReadResult with `records xsi:type=...`; a missing name reads back as an empty
record without fullName) and deleteMetadata (DeleteResult). At most 10 components per call, one type.
Components are stored as nested dicts of the XML the client sent (see `metadata_types.py`); CustomField
changes reshape describe/SOQL/writes, and a PermissionSet also becomes a `PermissionSet` row that
`PermissionSetAssignment` rows (created through REST) point at. Any type not listed below is stored and
read back without effects. Session errors are SOAP faults `sf:INVALID_SESSION_ID`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from sandbox.http import App, Request, Response
from sandbox.salesforce import metadata_types
from sandbox.salesforce.responses import soap_fault, soap_text
from sandbox.salesforce.store import SalesforceStore

MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
# Elements that repeat (maxOccurs unbounded) in the types provisioning uses; always kept as lists.
LIST_ELEMENTS = frozenset(
    {
        "value",
        "fieldPermissions",
        "objectPermissions",
        "userPermissions",
        "columns",
        "filters",
        "recordTypeVisibilities",
        "tabSettings",
        "classAccesses",
        "valueSettings",
        "fullNames",
        "metadata",
        "sharedTo",
        "customValue",
        "picklistValues",
    }
)
MAX_COMPONENTS = 10


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def element_value(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    out: dict[str, Any] = {}
    for child in children:
        name, value = _local(child.tag), element_value(child)
        if name in LIST_ELEMENTS:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def to_xml(name: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(to_xml(name, v) for v in value)
    if isinstance(value, dict):
        return f"<{name}>" + "".join(to_xml(k, v) for k, v in value.items()) + f"</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def _envelope(inner: str) -> Response:
    return Response.xml(
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
        f'envelope/" xmlns="{MD_NS}" xmlns:tns="{MD_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"
    )


def _result(full_name: str, error: tuple[str, str] | None, created: bool | None = None) -> str:
    parts = "" if created is None else f"<created>{str(created).lower()}</created>"
    if error:
        parts += f"<errors><message>{escape(error[1])}</message><statusCode>{error[0]}</statusCode></errors>"
    parts += f"<fullName>{escape(full_name)}</fullName><success>{str(error is None).lower()}</success>"
    return f"<result>{parts}</result>"


def _validate(store: SalesforceStore, kind: str, component: dict[str, Any]) -> tuple[str, str] | None:
    full_name = str(component.get("fullName") or "")
    if not full_name:
        return "FIELD_INTEGRITY_EXCEPTION", "fullName is required"
    if kind == "CustomField":
        object_name, _, field = full_name.partition(".")
        if object_name not in store.objects() and object_name != "Activity":
            return (
                "INVALID_CROSS_REFERENCE_KEY",
                f"In field: fullName - no CustomObject named {object_name} found",
            )
        if object_name in metadata_types.ACTIVITY_OBJECTS:
            return (
                "FIELD_INTEGRITY_EXCEPTION",
                f"Custom fields for {object_name} are defined on Activity: use Activity.{field}",
            )
        if not field.endswith("__c"):
            return "FIELD_INTEGRITY_EXCEPTION", f"Custom field names must end with __c: {field}"
        if component.get("type") not in metadata_types.FIELD_TYPES:
            return "FIELD_INTEGRITY_EXCEPTION", f"Invalid field type: {component.get('type')}"
        problem = metadata_types.custom_field_problem(component)
        if problem:
            return "FIELD_INTEGRITY_EXCEPTION", problem
    if kind == "PermissionSet":
        problem = metadata_types.permission_set_problem(component)
        if problem:
            return "INVALID_CROSS_REFERENCE_KEY", problem
    if kind == "ListView":
        problem = metadata_types.list_view_problem(store, component)
        if problem:
            return "FIELD_INTEGRITY_EXCEPTION", problem
    return None


def _apply(store: SalesforceStore, kind: str, component: dict[str, Any]) -> None:
    key = metadata_types.component_key(kind, component["fullName"])
    store.tables["_Metadata"][key] = {"_type": kind, **component}
    if kind == "PermissionSet":
        rows = store.table("PermissionSet")
        existing = next((r for r in rows.values() if r["Name"] == component["fullName"]), None)
        label = component.get("label") or component["fullName"]
        if existing is None:
            existing = store.insert(
                "PermissionSet",
                {"Name": component["fullName"], "Label": label, "Description": component.get("description")},
            )
        else:
            existing.update(Label=label, SystemModstamp=store.now(), LastModifiedDate=store.now())
        metadata_types.sync_field_permissions(store, existing["Id"], component)
    store.schema_changed()


def save(store: SalesforceStore, operation: str, elements: list[ET.Element]) -> Response:
    results = []
    for element in elements:
        kind = _local(element.get(XSI_TYPE, "Metadata")).split(":")[-1]
        component = element_value(element)
        component = component if isinstance(component, dict) else {}
        full_name = str(component.get("fullName") or "")
        exists = metadata_types.component_key(kind, full_name) in store.tables["_Metadata"]
        error = _validate(store, kind, component)
        if error is None and operation == "createMetadata" and exists:
            error = ("DUPLICATE_DEVELOPER_NAME", f"There is already a {kind} named {full_name}.")
        if error is None and operation == "updateMetadata" and not exists:
            error = ("INVALID_CROSS_REFERENCE_KEY", f"In field: fullName - no {kind} named {full_name} found")
        if error is None:
            _apply(store, kind, component)
        results.append(_result(full_name, error, (not exists) if operation == "upsertMetadata" else None))
    return _envelope(f"<{operation}Response>{''.join(results)}</{operation}Response>")


def read(store: SalesforceStore, kind: str, full_names: list[str]) -> Response:
    records = []
    for name in full_names:
        component = store.tables["_Metadata"].get(metadata_types.component_key(kind, name))
        body = "".join(to_xml(k, v) for k, v in (component or {}).items() if not k.startswith("_"))
        records.append(f'<records xsi:type="tns:{kind}">{body}</records>')
    return _envelope(f"<readMetadataResponse><result>{''.join(records)}</result></readMetadataResponse>")


def delete(store: SalesforceStore, kind: str, full_names: list[str]) -> Response:
    results = []
    for name in full_names:
        removed = store.tables["_Metadata"].pop(metadata_types.component_key(kind, name), None)
        error = None if removed else ("INVALID_CROSS_REFERENCE_KEY", f"no {kind} named {name} found")
        results.append(_result(name, error))
    store.schema_changed()
    return _envelope(f"<deleteMetadataResponse>{''.join(results)}</deleteMetadataResponse>")


def handle(store: SalesforceStore, request: Request) -> Response:
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError:
        return soap_fault("INVALID_XML", "could not parse the request", namespace=MD_NS)
    session = soap_text(root, "sessionId")
    if store.session_user((session or "").strip()) is None:
        return soap_fault(
            "INVALID_SESSION_ID",
            "Invalid Session ID found in SessionHeader: Illegal Session",
            namespace=MD_NS,
        )
    if store.daily_limit_exhausted():
        return soap_fault("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", namespace=MD_NS)
    store.count_api_call()
    body = next((e for e in root if _local(e.tag) == "Body"), None)
    call = next(iter(body), None) if body is not None else None
    if call is None:
        return soap_fault("INVALID_OPERATION", "no operation in the SOAP body", namespace=MD_NS)
    operation = _local(call.tag)
    children = list(call)
    if len([c for c in children if _local(c.tag) in ("metadata", "fullNames")]) > MAX_COMPONENTS:
        return soap_fault(
            "LIMIT_EXCEEDED", f"Too many components: at most {MAX_COMPONENTS} per call", namespace=MD_NS
        )
    with store.lock:
        if operation in ("createMetadata", "updateMetadata", "upsertMetadata"):
            return save(store, operation, [c for c in children if _local(c.tag) == "metadata"])
        kind = next((c.text or "" for c in children if _local(c.tag) == "type"), "")
        names = [c.text or "" for c in children if _local(c.tag) == "fullNames"]
        if operation == "readMetadata":
            return read(store, kind, names)
        if operation == "deleteMetadata":
            return delete(store, kind, names)
    return soap_fault("INVALID_OPERATION", f"{operation} is not supported by the sandbox", namespace=MD_NS)


def register_metadata(app: App, store: SalesforceStore) -> None:
    app.route("POST", r"/services/Soap/m/(?P<ver>\d+\.\d)(?:/\w*)?", "metadata")(
        lambda request: handle(store, request)
    )
