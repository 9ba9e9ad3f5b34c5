"""Provisioning: the "Commitments" deal property group and the properties of DESIGN.md's contract.

Idempotent: the group and the deal properties are read first (two calls); what is missing is created and
what differs (label, type, options and their labels/order, group) is updated; a dry run reports the same
plan without writing. Commitment options are the commitment ids as values with the playbook's labels, so
a rename in the playbook updates the displayed labels while stored values stay stable. The plugin's task
key needs no property (it is a marker in the task body, see tasks.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from connectors.base import SetupChange, SetupReport
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.config import HubSpotConfig
from connectors.hubspot.errors import ConflictError
from core.models import COMMITMENT_ORDER
from core.playbook import Playbook

Spec = dict[str, Any]
_COMPARED = ("label", "type", "fieldType", "groupName", "description")


def _options(playbook: Playbook) -> list[dict[str, Any]]:
    return [
        {"label": playbook.label(c), "value": c.value, "displayOrder": order, "hidden": False}
        for order, c in enumerate(COMMITMENT_ORDER)
    ]


def property_specs(config: HubSpotConfig, playbook: Playbook) -> list[Spec]:
    """The deal properties the plugin provisions, as `POST /crm/v3/properties/deals` bodies."""
    names, group = config.names, config.group_name
    options = _options(playbook)
    yes_no = [{"label": "Yes", "value": "true", "displayOrder": 0, "hidden": False},
              {"label": "No", "value": "false", "displayOrder": 1, "hidden": False}]

    def spec(name: str, label: str, type_: str, field_type: str, description: str,
             opts: list[dict[str, Any]] | None = None) -> Spec:
        body: Spec = {"name": name, "label": label, "type": type_, "fieldType": field_type,
                      "groupName": group, "description": description}
        if opts is not None:
            body["options"] = opts
        return body

    return [
        spec(names.secured, "Commitments secured", "enumeration", "checkbox",
             "Buyer commitments secured, with evidence (written by the commitments plugin).", options),
        spec(names.missing, "Commitments missing", "enumeration", "checkbox",
             "Commitments the deal's stage expects but that are not secured.", options),
        spec(names.next, "Next commitment", "enumeration", "select",
             "The first commitment not yet secured: what to win next.", options),
        spec(names.score, "Commitment score", "number", "number", "Number of commitments secured (0-10)."),
        spec(names.stage_gap, "Stage ahead of commitments", "bool", "booleancheckbox",
             "The deal stage is ahead of the commitments actually secured.", yes_no),
        spec(names.evidence, "Commitment evidence", "string", "textarea",
             "One line per commitment: status and the evidence behind it."),
        spec(names.assessed_at, "Commitments assessed at", "datetime", "date",
             "When the plugin's assessment of this deal last changed (a sync finding no change keeps it)."),
        spec(names.confirmed, "Commitments confirmed by rep", "enumeration", "checkbox",
             "Tick a commitment you know the buyer made; the plugin reads this, never writes it.", options),
    ]


def _option_view(options: Any) -> list[tuple[str, str, int]]:
    return [
        (str(o.get("value")), str(o.get("label")), int(o.get("displayOrder") or 0)) for o in options or []
    ]


def _differences(want: Spec, have: Mapping[str, Any]) -> list[str]:
    diffs = [key for key in _COMPARED if want.get(key) != have.get(key)]
    if "options" in want and _option_view(want["options"]) != _option_view(have.get("options")):
        diffs.append("options")
    return diffs


def provision(client: HubSpotClient, playbook: Playbook, *, dry_run: bool) -> SetupReport:
    config = client.config
    report = SetupReport(dry_run=dry_run)
    groups = client.call("properties", "properties.groups", "get_all", "deals").get("results", [])
    if any(g.get("name") == config.group_name for g in groups):
        report.changes.append(SetupChange("property_group", config.group_name, "unchanged"))
    else:
        report.changes.append(SetupChange("property_group", config.group_name, "create", config.group_label))
        if not dry_run:
            body = {"name": config.group_name, "label": config.group_label, "displayOrder": -1}
            _create(client, "properties.groups", body)
    properties = client.call("properties", "properties.core", "get_all", "deals").get("results", [])
    existing = {p["name"]: p for p in properties}
    for want in property_specs(config, playbook):
        have = existing.get(want["name"])
        if have is None:
            report.changes.append(SetupChange("property", want["name"], "create", want["label"]))
            if not dry_run:
                _create(client, "properties.core", want)
            continue
        diffs = _differences(want, have)
        if not diffs:
            report.changes.append(SetupChange("property", want["name"], "unchanged"))
            continue
        report.changes.append(SetupChange("property", want["name"], "update", "differs: " + ", ".join(diffs)))
        if not dry_run:
            update = {k: v for k, v in want.items() if k != "name"}
            client.call("properties", "properties.core", "update", "deals", want["name"], update)
    return report


def _create(client: HubSpotClient, api: str, body: Spec) -> None:
    with contextlib.suppress(ConflictError):  # created meanwhile by another run: what we wanted exists
        client.call("properties", api, "create", "deals", body)
