"""Provisioning (`commitments setup`) through the Metadata API: fields, permission set, list views.

What it provisions (DESIGN.md, "The CRM contract"): the plugin's Opportunity fields (secured / missing /
confirmed multi-select picklists and the next picklist, whose values are the commitment ids with the
playbook's labels; score, stage gap, evidence, assessed-at), the task key field on activities (external
id, not unique), a permission set granting read + edit on the written fields and read on the
rep-confirmation field (the task key under Task. and Event., as field permissions name activity
fields), its assignment to the integration user, a second permission set for reps and managers (read the
fields, edit the confirmations; the admin assigns it), and managers' list views. It reads what
exists first (readMetadata, a SOQL for the assignment) and upserts only what differs, at most 10
components per call, so a second run changes nothing; a dry run reports the same changes and writes
nothing. The Metadata API reports failures as plain `Exception`s: they become `ConfigurationError`s here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from simple_salesforce.format import format_soql
from zeep.helpers import serialize_object

from connectors.base import ConfigurationError, ConnectorError, FatalError, SetupChange, SetupReport
from connectors.salesforce.config import JwtAuth, PasswordAuth, SalesforceConfig
from connectors.salesforce.session import SalesforceApi
from core.models import COMMITMENT_ORDER, Commitment
from core.playbook import Playbook

T = TypeVar("T")
MAX_COMPONENTS = 10
LIST_COLUMNS = ("OPPORTUNITY.NAME", "ACCOUNT.NAME", "OPPORTUNITY.STAGE_NAME", "CORE.USERS.ALIAS")
# List-view filters on the standard Closed and Won fields (list views name standard fields by token). A won
# deal keeps listing what it missed before the decision, which is no work for a manager, so the views show
# open deals only, as `commitments deals --missing` does; except "Missing Execute", which only a won deal
# can miss.
OPEN_ONLY = {"field": "OPPORTUNITY.CLOSED", "operation": "equals", "value": "0"}
WON_ONLY = {"field": "OPPORTUNITY.WON", "operation": "equals", "value": "1"}


@dataclass(frozen=True)
class Component:
    """One metadata component as plain data: the type, its fullName and the attributes we own."""

    type: str
    full_name: str
    attrs: dict[str, Any]


def _picklist(playbook: Playbook, multi: bool, label: str, full_name: str, description: str) -> Component:
    values = [{"fullName": c.value, "label": playbook.label(c), "default": False} for c in COMMITMENT_ORDER]
    attrs: dict[str, Any] = {
        "label": label, "type": "MultiselectPicklist" if multi else "Picklist", "description": description,
        "valueSet": {"restricted": True, "valueSetDefinition": {"sorted": False, "value": values}},
    }
    if multi:
        attrs["visibleLines"] = 10
    return Component("CustomField", full_name, attrs)


def desired_fields(config: SalesforceConfig, playbook: Playbook) -> list[Component]:
    n = config.field_names()
    opp = "Opportunity."
    return [
        _picklist(playbook, True, "Commitments Secured", opp + n.secured,
                  "Buyer commitments secured (plugin)."),
        _picklist(playbook, True, "Commitments Missing", opp + n.missing,
                  "Commitments the stage expects but not secured (plugin)."),
        _picklist(playbook, False, "Next Commitment", opp + n.next, "The next commitment to win (plugin)."),
        _picklist(playbook, True, "Commitments Confirmed", opp + n.confirmed,
                  "Commitments the rep confirmed by hand; read by the plugin, never written."),
        Component("CustomField", opp + n.score, {
            "label": "Commitment Score", "type": "Number", "precision": 2, "scale": 0,
            "description": "How many of the ten buyer commitments are secured (plugin)."}),
        Component("CustomField", opp + n.stage_gap, {
            "label": "Stage Ahead of Commitments", "type": "Checkbox", "defaultValue": "false",
            "description": "An open deal whose stage expects commitments not yet secured (plugin)."}),
        Component("CustomField", opp + n.evidence, {
            "label": "Commitment Evidence", "type": "LongTextArea", "length": 32768, "visibleLines": 10,
            "description": "One line per commitment: its status and the evidence behind it (plugin)."}),
        Component("CustomField", opp + n.assessed_at, {
            "label": "Commitments Assessed At", "type": "DateTime",
            "description": "When the plugin's assessment last changed; a sync finding no change keeps it."}),
        Component("CustomField", "Activity." + n.task_key, {
            "label": "Commitment Key", "type": "Text", "length": 100, "externalId": True, "unique": False,
            "description": "The plugin's key for its own tasks (cmt:deal:commitment); do not edit."}),
    ]


def _field_permissions(config: SalesforceConfig, *, worker: bool) -> list[dict[str, Any]]:
    """The worker writes the owned fields and task keys and only reads the confirmations; a sales user
    reads the owned fields and task keys and ticks the confirmations."""
    n = config.field_names()
    permissions = [
        {"field": f"Opportunity.{f}", "readable": True, "editable": worker} for f in n.owned().values()
    ]
    permissions.append({"field": f"Opportunity.{n.confirmed}", "readable": True, "editable": not worker})
    # Activity custom fields are defined on Activity but secured per object: a permission set names them
    # Task.X__c / Event.X__c (FieldPermissions.Field is "prefixed with the SobjectType"; Activity is none).
    permissions += [
        {"field": f"{o}.{n.task_key}", "readable": True, "editable": worker} for o in ("Event", "Task")
    ]
    return permissions


def desired_permission_sets(config: SalesforceConfig) -> list[Component]:
    """The worker's permission set (assigned to the integration user by setup) and the sales users' one.
    Fields created through the Metadata API are visible to no profile, so without the second a rep sees
    none of them; which users are reps and managers is the admin's call, so setup does not assign it."""
    n = config.field_names()
    return [
        Component("PermissionSet", n.permission_set, {
            "label": "Commitments Plugin", "description": "Field access for the commitments sync worker.",
            "fieldPermissions": _field_permissions(config, worker=True),
        }),
        Component("PermissionSet", n.user_permission_set, {
            "label": "Commitments User",
            "description": "Assign to reps and managers: read the commitment fields, tick confirmed ones.",
            "fieldPermissions": _field_permissions(config, worker=False),
        }),
    ]


def desired_list_views(config: SalesforceConfig, playbook: Playbook) -> list[Component]:
    n, p = config.field_names(), config.field_prefix
    columns = [*LIST_COLUMNS, n.missing, n.next, n.score]

    def view(
        name: str, label: str, field: str, operation: str, value: str, deals: dict[str, str] = OPEN_ONLY
    ) -> Component:
        # Filters are ANDed when no booleanFilter is given.
        return Component("ListView", f"Opportunity.{p}{name}", {
            "label": label[:40], "filterScope": "Everything", "columns": columns,
            "filters": [{"field": field, "operation": operation, "value": value}, deals],
        })

    views = [
        view("Commitments_Stage_Ahead", "Stage ahead of commitments", n.stage_gap, "equals", "1"),
        view("Commitments_Missing", "Missing commitments", n.missing, "notEqual", ""),
    ]
    if config.list_views_per_commitment:
        views += [
            view(f"Missing_{c.value.capitalize()}", f"Missing {playbook.label(c)}", n.missing, "includes",
                 c.value, WON_ONLY if c is Commitment.EXECUTE else OPEN_ONLY)
            for c in COMMITMENT_ORDER
        ]
    return views


def _comparable(value: Any) -> Any:
    """Metadata values as the API echoes them: booleans and numbers as text, None/'' alike."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_comparable(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def differs(desired: Component, existing: dict[str, Any] | None) -> str:
    """'create', 'update' or 'unchanged'; only the attributes the plugin sets are compared."""
    if not existing or not existing.get("fullName"):
        return "create"
    for key, wanted in desired.attrs.items():
        have = existing.get(key)
        if key == "fieldPermissions":
            have = sorted(have or [], key=lambda p: str(p.get("field")))
            wanted = sorted(wanted, key=lambda p: str(p["field"]))
            have = [{k: p.get(k) for k in ("field", "readable", "editable")} for p in have]
        elif key == "valueSet":
            have = _value_set(have)
            wanted = _value_set(wanted)
        elif key == "filters":
            have = [{k: f.get(k) for k in ("field", "operation", "value")} for f in have or []]
        if _comparable(have) != _comparable(wanted):
            return "update"
    return "unchanged"


def _value_set(value_set: dict[str, Any] | None) -> list[tuple[Any, Any]]:
    definition = (value_set or {}).get("valueSetDefinition") or {}
    return [(v.get("fullName"), v.get("label")) for v in definition.get("value") or []]


class Provisioner:
    def __init__(self, api: SalesforceApi, config: SalesforceConfig) -> None:
        self._api = api
        self._config = config

    def run(self, playbook: Playbook, *, dry_run: bool) -> SetupReport:
        report = SetupReport(dry_run=dry_run)
        groups = [
            ("field", desired_fields(self._config, playbook)),
            ("permission_set", desired_permission_sets(self._config)),
            ("list_view", desired_list_views(self._config, playbook)),
        ]
        for kind, components in groups:
            report.changes.extend(self._sync(kind, components, dry_run))
        report.changes.append(self._assign(dry_run))
        return report

    def _metadata(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return cast(T, self._api.call("metadata", fn))
        except ConnectorError:
            raise
        except Exception as exc:  # mdapi raises a plain Exception listing (statusCode, message) per component
            raise ConfigurationError(
                f"Salesforce Metadata API refused {what}: {str(exc).strip()}. Check that the integration "
                "user has Customize Application and Modify Metadata permissions."
            ) from None

    def _read(self, metadata_type: str, full_names: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(full_names), MAX_COMPONENTS):
            chunk = full_names[start : start + MAX_COMPONENTS]

            def read(names: list[str] = chunk) -> Any:
                return getattr(self._api.mdapi(), metadata_type).read(names)

            result = self._metadata(f"reading {metadata_type}", read)
            items = result if isinstance(result, list) else [result]
            for item in items:
                data = serialize_object(item, dict) if item is not None else None  # type: ignore[no-untyped-call]
                if isinstance(data, dict) and data.get("fullName"):
                    found[str(data["fullName"])] = data
        return found

    def _sync(self, kind: str, components: list[Component], dry_run: bool) -> list[SetupChange]:
        metadata_type = components[0].type
        existing = self._read(metadata_type, [c.full_name for c in components])
        changes, todo = [], []
        for component in components:
            action = differs(component, existing.get(component.full_name))
            changes.append(SetupChange(kind, component.full_name, action, component.attrs.get("label", "")))
            if action != "unchanged":
                todo.append(component)
        if not dry_run:
            for start in range(0, len(todo), MAX_COMPONENTS):
                self._upsert(metadata_type, todo[start : start + MAX_COMPONENTS])
        return changes

    def _upsert(self, metadata_type: str, components: list[Component]) -> None:
        def upsert() -> None:
            md = self._api.mdapi()
            factory = getattr(md, metadata_type)
            factory.upsert([factory(fullName=c.full_name, **c.attrs) for c in components])

        self._metadata(f"{metadata_type} {', '.join(c.full_name for c in components)}", upsert)

    def _assign(self, dry_run: bool) -> SetupChange:
        name = self._config.field_names().permission_set
        user_id, user_label = self._user()
        rows = list(self._api.records(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", name)))
        if rows:
            assigned = list(self._api.records(format_soql(
                "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} AND PermissionSetId = {}",
                user_id, rows[0]["Id"])))
            if assigned:
                return SetupChange("permission_assignment", f"{name} -> {user_label}", "unchanged")
        if not dry_run:
            if not rows:
                raise ConfigurationError(f"permission set {name} not found after it was saved; rerun setup")
            self._api.restful("create", "sobjects/PermissionSetAssignment", method="POST",
                              json={"AssigneeId": user_id, "PermissionSetId": rows[0]["Id"]})
        return SetupChange("permission_assignment", f"{name} -> {user_label}", "create")

    def _user(self) -> tuple[str, str]:
        """(Id, username) of the user that gets the permission set."""
        auth = self._config.auth
        username = self._config.integration_user or (
            auth.username if isinstance(auth, JwtAuth | PasswordAuth) else None)
        if username:
            rows = list(self._api.records(format_soql("SELECT Id FROM User WHERE Username = {}", username)))
            if not rows:
                raise ConfigurationError(f"no Salesforce user with username {username} (integration_user)")
            return str(rows[0]["Id"]), username
        try:
            info = self._api.call("userinfo", lambda: self._api.sf.oauth2("userinfo"))
        except (ConfigurationError, FatalError):
            info = None
        if not isinstance(info, dict) or not info.get("user_id"):
            raise ConfigurationError(
                "cannot tell which Salesforce user this connection logs in as (the OAuth userinfo endpoint "
                "did not say); set integration_user to the username that should get the permission set"
            )
        return str(info["user_id"]), str(info.get("preferred_username") or info["user_id"])
