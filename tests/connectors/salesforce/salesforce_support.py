"""Helpers for the Salesforce connector tests: payload files, configs, the discovery mocks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import responses
from responses import matchers

from connectors.salesforce import SalesforceConfig, SalesforceConnector, soql
from worker.playbook_files import load_playbook

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "salesforce"
INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v61.0/"


def payload(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def text(name: str) -> str:
    return (FIXTURES / name).read_text()


def session_config(**overrides: Any) -> SalesforceConfig:
    data: dict[str, Any] = {
        "auth": {"mode": "session", "session_id": "00D!SESSION-SECRET", "instance_url": INSTANCE},
        "backoff_seconds": 0,
        "max_backoff_seconds": 0,
    }
    data.update(overrides)
    return SalesforceConfig.model_validate(data)


def password_config(**overrides: Any) -> SalesforceConfig:
    data: dict[str, Any] = {
        "auth": {
            "mode": "password",
            "username": "sync@acme.com",
            "password": "hunter2-SECRET",
            "security_token": "TOKEN-SECRET",
            "domain": "login",
        },
        "backoff_seconds": 0,
        "max_backoff_seconds": 0,
    }
    data.update(overrides)
    return SalesforceConfig.model_validate(data)


def no_sleep(_seconds: float) -> None:
    return None


def connector(config: SalesforceConfig | None = None) -> SalesforceConnector:
    return SalesforceConnector(config or session_config(), sleep=no_sleep)


DESCRIBED = ("Opportunity", "Task", "Event")
# described too, as the fixture's Opportunity has their relationships (EventRelation: it has Events)
CHILD_DESCRIBED = (
    "OpportunityContactRole", "OpportunityHistory", "OpportunityLineItem", "Quote", "Contact", "EventRelation"
)


def add_composite(rsps: responses.RequestsMock) -> None:
    """Salesforce's Composite resource over the test's other mocks: each GET subrequest is sent to them as
    its direct call (so a test mocks describes and queries as direct calls), whose answer (status, JSON
    body, Retry-After) is that subrequest's result; the call carries the last Sforce-Limit-Info seen. A
    subrequest whose url is `@{ref.nextRecordsUrl}` asks for the page that answer names, and is not run
    (400 PROCESSING_HALTED) when it has none."""

    def relay(request: Any) -> tuple[int, dict[str, str], str]:
        results, headers, bodies = [], {}, {}
        for sub in json.loads(request.body)["compositeRequest"]:
            url = sub["url"]
            if url.startswith("@{"):
                reference, field = url[2:-1].split(".")
                url = (bodies.get(reference) or {}).get(field)
            if url is None:
                halted = [{"errorCode": "PROCESSING_HALTED", "message": "Invalid reference specified"}]
                results.append({"body": halted, "httpHeaders": {}, "httpStatusCode": 400,
                                "referenceId": sub["referenceId"]})
                continue
            answer = requests.get(INSTANCE + url, headers=sub.get("httpHeaders") or {})
            bodies[sub["referenceId"]] = answer.json() if answer.ok and answer.content else None
            headers.update({k: v for k, v in answer.headers.items() if k == "Sforce-Limit-Info"})
            results.append({
                "body": answer.json() if answer.content else None,
                "httpHeaders": {k: v for k, v in answer.headers.items() if k == "Retry-After"},
                "httpStatusCode": answer.status_code,
                "referenceId": sub["referenceId"],
            })
        return 200, headers, json.dumps({"compositeResponse": results})

    rsps.add_callback("POST", f"{API}composite", callback=relay, content_type="application/json")


def add_discovery(
    rsps: responses.RequestsMock, *, skip: tuple[str, ...] = (), unreadable: tuple[str, ...] = ()
) -> None:
    """The describes and the stage query every read starts with, in one composite call (without the
    describes in `skip`); the objects in `unreadable` answer NOT_FOUND, as to a user without read access."""
    add_composite(rsps)
    missing = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    for sobject in (*DESCRIBED, *CHILD_DESCRIBED):
        if sobject in unreadable:
            rsps.get(f"{API}sobjects/{sobject}/describe", status=404, json=missing)
        elif sobject not in skip:
            rsps.get(f"{API}sobjects/{sobject}/describe", json=payload(f"describe_{sobject.lower()}.json"))
    rsps.get(
        f"{API}query/",
        json=payload("opportunity_stages.json"),
        match=[matchers.query_param_matcher({"q": soql.stages()})],
    )


STANDARD_TASK_STATUSES = [
    {"ApiName": name, "MasterLabel": name, "IsClosed": name == "Completed", "IsDefault": order == 1,
     "SortOrder": order}
    for order, name in enumerate(("Not Started", "In Progress", "Completed", "Deferred"), start=1)
]


def add_task_statuses(rsps: responses.RequestsMock, rows: list[dict[str, Any]] | None = None) -> None:
    """The TaskStatus query a connector makes at its first task action (Salesforce's standard values)."""
    rsps.get(
        f"{API}query/",
        json=query_page(STANDARD_TASK_STATUSES if rows is None else rows),
        match=[matchers.query_param_matcher({"q": soql.task_statuses()})],
    )


def soql_with(*fragments: str) -> Any:
    """A `responses` matcher: the request's SOQL (`q`) contains every fragment."""

    def match(request: Any) -> tuple[bool, str]:
        from urllib.parse import parse_qs, urlsplit

        q = parse_qs(urlsplit(request.url).query).get("q", [""])[0]
        missing = [f for f in fragments if f not in q]
        return not missing, f"SOQL {q!r} lacks {missing}"

    return match


def query_page(records: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    page: dict[str, Any] = {"totalSize": len(records), "done": next_url is None, "records": records}
    if next_url:
        page["nextRecordsUrl"] = next_url
    return page


PLAYBOOK = load_playbook()
