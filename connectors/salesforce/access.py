"""Field access for the people who work the deals: which active owners of open opportunities can't read the
plugin's fields, and (opt-in, `commitments setup --assign-owners`) giving them the sales users' permission
set ("Commitments User").

Fields created through the Metadata API are visible to no profile, so a rep whom no permission set grants
them sees none of the plugin's work: not the fields, not the list views' columns. Who can read is what
FieldPermissions says: the permission sets whose PermissionsRead covers the "secured" field (the sentinel:
the plugin's permission sets grant all its fields together), profile-owned ones included, since every user
has an assignment for their profile's permission set. Two queries, whatever the number of owners, each with
at most two semi-joins and none nested (SOQL's limits). Which users are reps is the admin's call, so nothing
is assigned unless asked.
"""

from __future__ import annotations

from typing import Any

from simple_salesforce.format import format_soql

from connectors.base import ConfigurationError, FieldAccess, SetupChange, SetupReport, chunked
from connectors.salesforce.config import SalesforceConfig
from connectors.salesforce.session import SalesforceApi
from connectors.salesforce.write import first_error

COLLECTION_SIZE = 200  # records per composite/sobjects call
OPEN_DEAL_OWNERS = "SELECT OwnerId FROM Opportunity WHERE IsClosed = false"


def owners_query() -> str:
    return f"SELECT Id, Name FROM User WHERE IsActive = true AND Id IN ({OPEN_DEAL_OWNERS}) ORDER BY Name, Id"


def readers_query(field: str) -> str:
    """The open deals' owners holding a permission set, or profile, that lets them read `field`."""
    return format_soql(
        "SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSetId IN "
        "(SELECT ParentId FROM FieldPermissions WHERE SobjectType = 'Opportunity' AND Field = {} "
        f"AND PermissionsRead = true) AND AssigneeId IN ({OPEN_DEAL_OWNERS})",
        field,
    )


class FieldAccessCheck:
    def __init__(self, api: SalesforceApi, config: SalesforceConfig) -> None:
        self._api = api
        self._config = config

    def access(self) -> FieldAccess:
        owners = [(str(r["Id"]), str(r.get("Name") or r["Id"])) for r in self._api.records(owners_query())]
        field = f"Opportunity.{self._config.field_names().secured}"
        readers = {str(r["AssigneeId"]) for r in self._api.records(readers_query(field))}
        return FieldAccess(len(owners), tuple(owner for owner in owners if owner[0] not in readers))

    def grant(self, *, dry_run: bool) -> SetupReport:
        """Assign the sales users' permission set to each owner without access; one change per owner."""
        name = self._config.field_names().user_permission_set

        def change(user: str, action: str = "create", detail: str = "") -> SetupChange:
            return SetupChange("permission_assignment", f"{name} -> {user}", action, detail)

        without = self.access().without
        report = SetupReport(dry_run=dry_run)
        if not without or dry_run:
            report.changes = [change(user) for _, user in without]
            return report
        rows = list(self._api.records(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", name)))
        if not rows:
            raise ConfigurationError(
                f"permission set {name} not found: run `commitments setup` first, which creates it"
            )
        for batch in chunked(without, COLLECTION_SIZE):
            results = self._post([{
                "attributes": {"type": "PermissionSetAssignment"},
                "AssigneeId": user_id,
                "PermissionSetId": rows[0]["Id"],
            } for user_id, _ in batch])
            for (_, user), result in zip(batch, results, strict=True):
                if result.get("success"):
                    report.changes.append(change(user))
                else:
                    message, code = first_error(result)
                    report.changes.append(change(user, "refused", f"{code}: {message}" if code else message))
        return report

    def _post(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results = self._api.restful(
            "composite", "composite/sobjects", method="POST", create=True,
            json={"allOrNone": False, "records": records},
        )
        results = list(results or [])
        if len(results) != len(records):
            raise ConfigurationError(
                f"Salesforce answered {len(results)} results for {len(records)} permission set assignments"
            )
        return results
