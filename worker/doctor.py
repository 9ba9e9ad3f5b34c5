"""`commitments doctor`: is this connection ready to sync, and will its data support the ten rules?

Checks, each answered with what was found and, for a problem, the fix:
- credentials: one cheap authenticated call (the pipeline stages); nothing else runs if it fails;
- API budget left (from the CRM's headers, as the connector last saw them);
- provisioning: `setup(dry_run=True)` reports nothing pending (fields, options, permissions present);
- field access: the active owners of open deals can read the plugin's fields (Salesforce field-level
  security; without it a rep sees none of the plugin's work);
- stage mapping: every CRM stage of every pipeline is in the playbook's stage map;
- data coverage from a sample of deals: deals with buyer contacts and with contact roles, open deals with
  no activity at all, held meetings and connected calls with a contact of the deal at them, and no emails
  logged (activity capture keeping emails outside the CRM).
`diagnose` is pure apart from the connector calls; the CLI prints its findings and exits non-zero when a
problem is found. Errors are scrubbed of secrets before they are shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from connectors.base import ConfigurationError, Connector, ConnectorError
from core.models import ActivityKind, ActivityStatus, Deal
from core.playbook import Playbook
from worker.observability.redaction import scrub

Severity = Literal["ok", "warning", "problem"]
SAMPLE_SIZE = 500
BUDGET_PROBLEM, BUDGET_WARNING = 0.10, 0.25
MIN_CONTACT_SHARE = 0.5
MAX_IDLE_SHARE = 0.5
MIN_ATTENDED_SHARE = 0.5


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    detail: str
    fix: str = ""


def _ok(check: str, detail: str) -> Finding:
    return Finding(check, "ok", detail)


def diagnose(
    connector: Connector,
    playbook: Playbook,
    now: datetime,
    *,
    connection: str,
    sample_size: int = SAMPLE_SIZE,
) -> list[Finding]:
    try:
        stages = connector.pipeline_stages()
    except ConfigurationError as exc:
        # Not only a rejected login: a wrong setting (a HubSpot pipeline id that does not exist) fails this
        # first call too, and the connector's message already says which; do not call it a credentials issue.
        fix = (
            f"check the settings and credentials of connection {connection!r} "
            "(config file, secrets file or environment)"
        )
        detail = f"could not connect with these settings: {scrub(str(exc))}"
        return [Finding("credentials", "problem", detail, fix)]
    except ConnectorError as exc:
        fix = "check the CRM's URL and status, and the network between the worker and the CRM; then rerun"
        return [Finding("credentials", "problem", f"could not reach the CRM: {scrub(str(exc))}", fix)]
    findings = [_ok("credentials", f"authenticated with {connector.crm}")]
    findings.append(_provisioning(connector, playbook, connection))
    findings.extend(_field_access(connector, connection))
    findings.extend(_stage_mapping(stages, playbook))
    findings.extend(_coverage(connector, now, sample_size))
    findings.append(_budget(connector))  # last: it reflects the calls made above
    return findings


def _budget(connector: Connector) -> Finding:
    budget = connector.budget()
    if budget is None:
        return _ok("API budget", "not reported by the CRM")
    left = budget.remaining_fraction
    detail = f"{budget.limit - budget.used} of {budget.limit} calls left ({left:.0%})"
    if left < BUDGET_PROBLEM:
        return Finding(
            "API budget", "problem", detail, "wait for the budget window to reset, or raise the limit"
        )
    if left < BUDGET_WARNING:
        return Finding("API budget", "warning", detail, "other integrations are using most of the budget")
    return _ok("API budget", detail)


def _provisioning(connector: Connector, playbook: Playbook, connection: str) -> Finding:
    try:
        report = connector.setup(playbook, dry_run=True)
    except ConnectorError as exc:
        fix = "give the integration user permission to read metadata (Salesforce) or schemas (HubSpot)"
        return Finding("provisioning", "problem", f"could not check the fields: {scrub(str(exc))}", fix)
    pending = report.pending
    if not pending:
        return _ok("provisioning", f"all {len(report.changes)} in place ({report.by_kind(report.changes)})")
    shown = ", ".join(f"{c.action} {c.kind} {c.name}" for c in pending[:6])
    more = f" and {len(pending) - 6} more" if len(pending) > 6 else ""
    fix = f"run `commitments setup --connection {connection}` (preview with --dry-run)"
    return Finding("provisioning", "problem", f"{len(pending)} pending: {shown}{more}", fix)


def _field_access(connector: Connector, connection: str) -> list[Finding]:
    """Owners of open deals whom field-level security keeps from reading the plugin's fields: the plugin
    works on their deals, but they see none of it. A warning, as syncing is not affected."""
    try:
        access = connector.field_access()
    except ConnectorError as exc:
        detail = f"could not check who can read the fields: {scrub(str(exc))}"
        if isinstance(exc, ConfigurationError):  # refused: the permission objects are not readable
            fix = "give the integration user View Setup and Configuration: reading permission sets needs it"
        else:  # unavailable, out of budget, or failed: nothing to change in the user's permissions
            fix = "run `commitments doctor` again once the CRM answers (the error above says why it did not)"
        return [Finding("field access", "warning", detail, fix)]
    if access is None:
        return []  # the CRM shows the fields to every user
    if not access.owners:
        return [_ok("field access", "no open deals with an active owner")]
    if not access.without:
        return [_ok("field access", f"all {access.owners} active owners of open deals can read the fields")]
    names = ", ".join(name for _, name in access.without[:5])
    more = f" and {len(access.without) - 5} more" if len(access.without) > 5 else ""
    detail = (
        f"{len(access.without)} of {access.owners} active owners of open deals can't read the commitment "
        f"fields: {names}{more}"
    )
    fix = (
        "assign them the permission set 'Commitments User' (Setup → Permission Sets → Manage Assignments), "
        f"or run `commitments setup --connection {connection} --assign-owners`"
    )
    return [Finding("field access", "warning", detail, fix)]


def _stage_mapping(stages: dict[str, list[str]], playbook: Playbook) -> list[Finding]:
    findings = []
    for pipeline, names in stages.items():
        stage_map = playbook.stage_maps.get(pipeline)
        if stage_map is None:
            fix = (
                f"add stage_maps.{pipeline} to the playbook, listing its stages and the commitments each adds"
            )
            findings.append(
                Finding("stage mapping", "problem", f"pipeline {pipeline!r} has no stage map", fix)
            )
            continue
        unmapped = [name for name in names if name not in stage_map.stages]
        if unmapped:
            listed = ", ".join(repr(n) for n in unmapped)
            fix = (
                f"add {listed} under stage_maps.{pipeline}.stages in the playbook, each with the commitments "
                "it adds ([] for none); deals in an unmapped stage expect nothing"
            )
            findings.append(
                Finding("stage mapping", "problem", f"pipeline {pipeline!r}: unmapped {listed}", fix)
            )
        else:
            findings.append(_ok("stage mapping", f"pipeline {pipeline!r}: all {len(names)} stages mapped"))
    return findings


def _sample(connector: Connector, now: datetime, size: int) -> list[Deal]:
    chunks: Iterator[list[Deal]] = connector.read_deals(None, now)
    sample: list[Deal] = []
    try:
        for chunk in chunks:
            sample.extend(chunk)
            if len(sample) >= size:
                break
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # stop paging: a sample is enough
    return sample[:size]


def _coverage(connector: Connector, now: datetime, size: int) -> list[Finding]:
    try:
        deals = _sample(connector, now, size)
    except ConnectorError as exc:
        return [
            Finding("data coverage", "problem", f"could not read deals: {scrub(str(exc))}", "rerun with -v")
        ]
    if not deals:
        return [
            Finding(
                "data coverage", "warning", "no deals found", "check the integration user's sharing access"
            )
        ]
    return [_contacts(deals), _idle(deals), _attendees(deals, connector.crm), _emails(deals, connector.crm)]


def _contacts(deals: list[Deal]) -> Finding:
    """Deals with buyer contacts (a problem when few), and of those with a contact holding a role (a
    warning: a Salesforce contact met at a meeting is on the deal without a role, which secures time but
    not consensus or invest, which look for a decision maker and an economic buyer)."""
    share = sum(1 for d in deals if d.contacts) / len(deals)
    with_roles = sum(1 for d in deals if any(c.roles for c in d.contacts)) / len(deals)
    detail = f"{share:.0%} of {len(deals)} sampled deals have buyer contacts, {with_roles:.0%} a contact role"
    if share < MIN_CONTACT_SHARE:
        fix = (
            "add contact roles (Salesforce) or associate contacts (HubSpot) to deals: time, consensus and "
            "invest need to know who the buyers are"
        )
        return Finding("contact roles", "problem", detail, fix)
    if with_roles < MIN_CONTACT_SHARE:
        fix = (
            "give contacts their role on the deal (Salesforce contact roles; HubSpot association labels or "
            "buying role): consensus and invest look for a decision maker and an economic buyer"
        )
        return Finding("contact roles", "warning", detail, fix)
    return _ok("contact roles", detail)


def _idle(deals: list[Deal]) -> Finding:
    open_deals = [d for d in deals if not d.is_closed]
    if not open_deals:
        return _ok("activity", "no open deals in the sample")
    share = sum(1 for d in open_deals if not d.activities) / len(open_deals)
    detail = f"{share:.0%} of {len(open_deals)} open deals have no activity logged"
    if share > MAX_IDLE_SHARE:
        fix = "log meetings and calls on the deals: most commitments are secured by held meetings"
        return Finding("activity", "problem", detail, fix)
    return _ok("activity", detail)


def _attendees(deals: list[Deal], crm: str) -> Finding:
    """Held meetings and connected calls with a contact of the deal at them. One with nobody of the deal at
    it is only the rep's word (it secures neither time nor explore nor collaborate), and a book where most
    are logged so is the commonest reason every deal looks stuck at the start."""
    held = [
        (deal, a) for deal in deals for a in deal.activities
        if a.kind in (ActivityKind.MEETING, ActivityKind.CALL) and a.status is ActivityStatus.COMPLETED
    ]
    if not held:
        return _ok("meeting attendees", "no held meetings or connected calls in the sample")
    with_buyer = sum(1 for deal, a in held if not {c.id for c in deal.contacts}.isdisjoint(a.attendee_ids))
    share = with_buyer / len(held)
    detail = f"{share:.0%} of {len(held)} held meetings and connected calls had a contact of the deal at them"
    if share >= MIN_ATTENDED_SHARE:
        return _ok("meeting attendees", detail)
    fix = (
        "set the meeting's or call's Name (WhoId) to the buyer, or invite or relate the buyer contacts"
        if crm == "salesforce"
        else "associate the buyer contacts with their meetings and calls"
    )
    return Finding("meeting attendees", "warning", detail, f"{fix}: a meeting with no buyer secures nothing")


def _emails(deals: list[Deal], crm: str) -> Finding:
    emails = sum(1 for d in deals for a in d.activities if a.kind is ActivityKind.EMAIL)
    if emails:
        return _ok("email capture", f"{emails} emails logged on sampled deals")
    where = (
        "Einstein Activity Capture keeps emails outside the Opportunity's activity history; "
        "log emails to Salesforce (Inbox logging or Email-to-Salesforce BCC)"
        if crm == "salesforce"
        else "connect the reps' inboxes (HubSpot Sales extension or inbox) and log emails to deals"
    )
    return Finding("email capture", "warning", "no emails logged on any sampled deal", where)


def has_problems(findings: list[Finding]) -> bool:
    return any(f.severity == "problem" for f in findings)
