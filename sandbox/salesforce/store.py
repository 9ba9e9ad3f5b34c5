"""The Salesforce stand-in's state: records, org settings, sessions, metadata, jobs, and fast lookups.

Everything that must survive a restart lives in `tables`, a dict of JSON-able dicts keyed by object type
then id: sObject rows (`tables["Opportunity"]["006..."]`) and the org's own state in tables whose names
start with an underscore (`_Org`: credentials, id counters, API usage; `_Session`: issued tokens;
`_Metadata`: components saved through the Metadata API; `_BulkJob`: Bulk API 2.0 jobs). `dump()` and
`load()` round-trip exactly that. Query cursors (`cursors`) are transient, like Salesforce's query
locators, which expire too.

Lookups that a 2,000-row query page needs are indexed: children by (child type, parent field, parent
id). The effective schema per user (standard fields plus custom fields the user's permission sets make
visible) is cached and rebuilt when metadata or permission set assignments change.
"""

from __future__ import annotations

import copy
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.salesforce import metadata_types
from sandbox.salesforce.schema import PREFIX_TO_TYPE, ObjectDef, standard_objects
from sandbox.salesforce.values import make_id, parse_datetime, random_id, sf_datetime

Record = dict[str, Any]
ORG_KEY = "org"


@dataclass
class Cursor:
    """A query's matched rows behind a locator; `project` turns one into (JSON record, rows it counts as)."""

    rows: list[Record]
    batch_size: int
    total_size: int
    version: str
    project: Callable[[Record], tuple[Record, int]]


@dataclass(frozen=True)
class RecordError:
    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": list(self.fields)}


class SalesforceStore:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        child_page_size: int = 200,
        api_daily_max: int = 15000,
        session_timeout: float | None = None,
    ) -> None:
        self.tables: dict[str, dict[str, Record]] = {}
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.child_page_size = child_page_size
        # Seconds of inactivity after which a session stops working, as the org's "Timeout value" does.
        self.session_timeout = session_timeout
        # Test hook: writes to these record ids fail per record with `fail_status_code`.
        self.fail_record_ids: set[str] = set()
        self.fail_status_code = "UNABLE_TO_LOCK_ROW"
        self.cursors: dict[str, Cursor] = {}
        self.lock = threading.RLock()
        # (object, field, case-folded) -> value -> record ids; built on first use, kept up to date on writes
        self._index: dict[tuple[str, str, bool], dict[str, list[str]]] = {}
        self._schema_cache: dict[str, dict[str, ObjectDef]] = {}
        self._init_org(api_daily_max)

    # ---- org state -------------------------------------------------------------------------------
    def _init_org(self, api_daily_max: int) -> None:
        org_id = make_id("00D", 1)
        self.tables["_Org"] = {
            ORG_KEY: {
                "id": org_id,
                "api_used": 0,
                "api_max": api_daily_max,
                "counters": {},
                "username": "integration@commitments.sandbox",
                "password": "sandbox-password",
                "security_token": "SANDBOXTOKEN",
                "consumer_key": "3MVG9sandbox.consumer.key",
                "consumer_secret": secrets.token_hex(16),
                "jwt_public_key": None,
                "api_user_id": None,
            }
        }
        for table in ("_Session", "_Metadata", "_BulkJob"):
            self.tables[table] = {}

    @property
    def org(self) -> Record:
        return self.tables["_Org"][ORG_KEY]

    def now(self) -> str:
        return sf_datetime(self.clock())

    # ---- ids and rows ----------------------------------------------------------------------------
    def new_id(self, object_type: str) -> str:
        prefix = self.objects()[object_type].prefix
        counters = self.org["counters"]
        counters[prefix] = counters.get(prefix, 0) + 1
        return make_id(prefix, counters[prefix])

    @staticmethod
    def type_of(record_id: str) -> str | None:
        return PREFIX_TO_TYPE.get(record_id[:3])

    def table(self, object_type: str) -> dict[str, Record]:
        return self.tables.setdefault(object_type, {})

    def get(self, record_id: str | None) -> Record | None:
        if not record_id:
            return None
        object_type = self.type_of(record_id)
        return self.tables.get(object_type, {}).get(record_id) if object_type else None

    def insert(
        self, object_type: str, values: Record, *, user_id: str | None = None, stamp: str | None = None
    ) -> Record:
        """Add a row with its system fields filled; no validation (writes.py validates)."""
        when = stamp or self.now()
        who = user_id or self.org["api_user_id"]
        # A checkbox is never null in Salesforce: false until set (IsChild, IsArchived, IsPrivate...).
        record: Record = {
            name: False if f.type == "boolean" and not f.nillable else None
            for name, f in self.objects()[object_type].fields.items()
        }
        record.update(
            {
                "IsDeleted": False,
                "CreatedDate": when,
                "CreatedById": who,
                "LastModifiedDate": when,
                "LastModifiedById": who,
                "SystemModstamp": when,
            }
        )
        record.update(values)
        record["Id"] = values.get("Id") or self.new_id(object_type)
        self.table(object_type)[record["Id"]] = record
        for (child_type, field, fold), index in self._index.items():
            if child_type == object_type and record.get(field):
                index.setdefault(_key(record[field], fold), []).append(record["Id"])
        if object_type == "PermissionSetAssignment":  # field-level security of the assignee changed
            self.schema_changed()
        return record

    def soft_delete(self, record: Record) -> None:
        """DELETE: the row stays, IsDeleted, visible to queryAll only (the recycle bin)."""
        with self.lock:
            record.update(IsDeleted=True, SystemModstamp=self.now())
            if self.type_of(record["Id"]) == "PermissionSetAssignment":
                self.schema_changed()

    def archive(self, record_ids: list[str]) -> None:
        """Test hook: mark Tasks/Events archived (old activities), hidden from query, seen by queryAll."""
        with self.lock:
            for record_id in record_ids:
                record = self.get(record_id)
                if record is not None and "IsArchived" in record:
                    record["IsArchived"] = True

    def archive_old_activities(self, days: int = 365) -> int:
        """Archive as the platform does: Events, and closed Tasks, dated more than `days` ago."""
        cutoff = (self.clock() - timedelta(days=days)).date().isoformat()
        old = [
            r["Id"]
            for kind in ("Task", "Event")
            for r in self.table(kind).values()
            if (r.get("ActivityDate") or "9999") < cutoff and (kind == "Event" or r.get("IsClosed"))
        ]
        self.archive(old)
        return len(old)

    def set_fields(self, object_type: str, record: Record, values: Record) -> None:
        for (child_type, field, fold), index in self._index.items():
            if child_type == object_type and field in values and values[field] != record.get(field):
                if record.get(field):
                    index[_key(record[field], fold)].remove(record["Id"])
                if values[field]:
                    index.setdefault(_key(values[field], fold), []).append(record["Id"])
        record.update(values)

    def children(self, child_type: str, field: str, parent_id: str) -> list[Record]:
        """The rows of `child_type` whose `field` (a lookup) holds `parent_id`."""
        return self.matching(child_type, field, parent_id)

    def matching(self, object_type: str, field: str, value: str, *, fold_case: bool = False) -> list[Record]:
        """The rows whose `field` is `value` (ignoring case with `fold_case`, as SOQL compares text), from an
        index built on first use: for a lookup, or an external id, which Salesforce indexes too."""
        key = (object_type, field, fold_case)
        if key not in self._index:
            index: dict[str, list[str]] = {}
            for row in self.table(object_type).values():
                if row.get(field):
                    index.setdefault(_key(row[field], fold_case), []).append(row["Id"])
            self._index[key] = index
        rows = self.table(object_type)
        return [rows[i] for i in self._index[key].get(_key(value, fold_case), ())]

    # ---- schema ----------------------------------------------------------------------------------
    def objects(self, user_id: str | None = None) -> dict[str, ObjectDef]:
        """Object definitions as `user_id` sees them (None: every field, as the system sees it)."""
        key = user_id or "*"
        cached = self._schema_cache.get(key)
        if cached is None:
            stages = tuple(
                r["MasterLabel"]
                for r in sorted(self.table("OpportunityStage").values(), key=lambda r: r["SortOrder"] or 0)
            )
            cached = metadata_types.with_custom_fields(standard_objects(stages), self, user_id)
            self._schema_cache[key] = cached
        return cached

    def schema_changed(self) -> None:
        self._schema_cache.clear()

    # ---- sessions --------------------------------------------------------------------------------
    def issue_session(self, user_id: str) -> str:
        token = f"{self.org['id'][:15]}!{random_id('AQ0')}{secrets.token_urlsafe(48)}"
        now = self.now()
        self.tables["_Session"][token] = {"user_id": user_id, "issued_at": now, "last_used": now}
        return token

    def session_user(self, token: str | None) -> str | None:
        """The session's user, or None when the token is unknown, revoked or timed out."""
        entry = self.tables["_Session"].get(token or "")
        if entry is None:
            return None
        now = self.clock()
        if self.session_timeout is not None:
            idle = (now - parse_datetime(entry.get("last_used") or entry["issued_at"])).total_seconds()
            if idle > self.session_timeout:
                self.expire_session(token)
                return None
        entry["last_used"] = sf_datetime(now)
        return str(entry["user_id"])

    def expire_session(self, token: str | None) -> None:
        self.tables["_Session"].pop(token or "", None)

    def expire_all_sessions(self) -> None:
        self.tables["_Session"].clear()

    # ---- API usage -------------------------------------------------------------------------------
    def count_api_call(self) -> None:
        with self.lock:
            self.org["api_used"] += 1

    def limit_header(self) -> str:
        return f"api-usage={self.org['api_used']}/{self.org['api_max']}"

    def daily_limit_exhausted(self) -> bool:
        return bool(self.org["api_used"] >= self.org["api_max"])

    def exhaust_daily_limit(self) -> None:
        self.org["api_used"] = self.org["api_max"]

    # ---- persistence -----------------------------------------------------------------------------
    def dump(self) -> dict[str, dict[str, Record]]:
        with self.lock:
            return copy.deepcopy(self.tables)

    def load(self, tables: dict[str, dict[str, Record]]) -> None:
        with self.lock:
            self.tables = copy.deepcopy(tables)
            self._index.clear()
            self.cursors.clear()
            if not self.tables.get("FieldPermissions"):  # a state saved before the sandbox kept these rows
                metadata_types.rebuild_field_permissions(self)
            self.schema_changed()


def _key(value: Any, fold_case: bool) -> Any:
    return str(value).lower() if fold_case else value
