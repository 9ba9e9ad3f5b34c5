"""Evaluate a parsed SOQL query against the store: field resolution, ordering, projection, child results.

Everything is compiled once per query into closures (field getters, a predicate from `soql_filters`,
sort keys, a projector), so a 2,000-row page with five child subqueries is a few list comprehensions over
indexed children, not a rescan per record. Field and relationship names are matched case-insensitively,
as SOQL does, and come back in their canonical case. Unknown objects raise INVALID_TYPE, unknown fields
or relationships INVALID_FIELD.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sandbox.salesforce.schema import FieldDef, ObjectDef
from sandbox.salesforce.soql import BoolOp, Compare, FieldPath, InList, Literal, Query, SoqlError, location
from sandbox.salesforce.soql_filters import Filters, Getter, Predicate, normaliser
from sandbox.salesforce.store import Record, SalesforceStore

ACTIVITIES = frozenset({"Task", "Event"})
# The polymorphic "Name" object a What/Who/Owner relationship points at.
NAME_OBJECT = ObjectDef(
    "Name",
    "000",
    "Name",
    {n: FieldDef(n, t) for n, t in (("Id", "id"), ("Name", "string"), ("Type", "string"))},
)


def _sort_key(get: Getter, null_flag: int) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        value = get(record)
        return (null_flag, 0) if value is None else (0, value)

    return key


@dataclass
class Compiled:
    """A query ready to run: which rows, in which order, and how each becomes JSON."""

    obj: ObjectDef
    predicate: Predicate
    sort: Callable[[list[Record]], list[Record]]
    project: Callable[[Record], tuple[Record, int]]
    query: Query


class Evaluator:
    def __init__(
        self, store: SalesforceStore, user_id: str, *, include_deleted: bool, text: str, version: str
    ) -> None:
        self.store = store
        self.objects = store.objects(user_id)
        self.include_deleted = include_deleted
        self.text = text
        self.url_prefix = f"/services/data/v{version}/sobjects/"
        self.version = version
        self._lower: dict[str, dict[str, FieldDef]] = {}

    # ---- names -----------------------------------------------------------------------------------
    def object_named(self, name: str, pos: int) -> ObjectDef:
        for obj in self.objects.values():
            if obj.name.lower() == name.lower():
                return obj
        raise SoqlError(
            "INVALID_TYPE",
            location(self.text, pos) + f"sObject type '{name}' is not supported. If you "
            "are attempting to use a custom object, be sure to append the '__c' after the entity "
            "name. Please reference your WSDL or the describe call for the appropriate names.",
        )

    def _lower_fields(self, obj: ObjectDef) -> dict[str, FieldDef]:
        fields = self._lower.get(obj.name)
        if fields is None:
            fields = self._lower[obj.name] = {f.name.lower(): f for f in obj.fields.values()}
        return fields

    def field_named(self, obj: ObjectDef, name: str, pos: int) -> FieldDef:
        found = self._lower_fields(obj).get(name.lower())
        if found is None:
            raise SoqlError(
                "INVALID_FIELD",
                location(self.text, pos) + f"No such column '{name}' on entity "
                f"'{obj.name}'. If you are attempting to use a custom field, be sure to append the "
                "'__c' after the custom field name. Please reference your WSDL or the describe call "
                "for the appropriate names.",
            )
        return found

    def relationship(self, obj: ObjectDef, name: str, pos: int) -> tuple[FieldDef, ObjectDef]:
        for field in obj.fields.values():
            if field.relationship_name and field.relationship_name.lower() == name.lower():
                targets = field.reference_to
                target = (
                    self.objects[targets[0]]
                    if len(targets) == 1 and targets[0] in self.objects
                    else NAME_OBJECT
                )
                return field, target
        raise SoqlError(
            "INVALID_FIELD",
            location(self.text, pos) + f"Didn't understand relationship '{name}' in "
            "field path. If you are attempting to use a custom relationship, be sure to append the "
            "'__r' after the custom relationship name. Please reference your WSDL or the describe "
            "call for the appropriate names.",
        )

    def resolve(self, obj: ObjectDef, path: FieldPath) -> tuple[Getter, FieldDef]:
        current, refs = obj, []
        for part in path.parts[:-1]:
            ref, current = self.relationship(current, part, path.pos)
            refs.append(ref.name)
        leaf = self.field_named(current, path.parts[-1], path.pos)
        leaf_getter = self._leaf_getter(current, leaf)
        if not refs:
            return leaf_getter, leaf
        get = self.store.get

        def follow(record: Record) -> Any:
            target: Record | None = record
            for ref_name in refs:
                target = get(target.get(ref_name)) if target else None
            return leaf_getter(target) if target else None

        return follow, leaf

    def _leaf_getter(self, obj: ObjectDef, field: FieldDef) -> Getter:
        name = field.name
        if obj is NAME_OBJECT:
            type_of = self.store.type_of
            if name == "Type":
                return lambda r: type_of(r["Id"])
            if name == "Name":
                return lambda r: r.get("Name") or r.get("Subject")
        if field.type == "boolean":
            return lambda r: bool(r.get(name))
        return lambda r: r.get(name)

    # ---- compile ---------------------------------------------------------------------------------
    def compile(self, query: Query, obj: ObjectDef | None = None) -> Compiled:
        obj = obj or self.object_named(query.object, query.pos)
        predicate: Predicate = (
            (lambda _r: True) if query.where is None else Filters(self).condition(obj, query.where)
        )
        visible = self._visibility(obj)
        return Compiled(
            obj,
            lambda r: visible(r) and predicate(r),
            self.sorter(obj, query),
            self.projector(obj, query),
            query,
        )

    def _visibility(self, obj: ObjectDef) -> Predicate:
        if self.include_deleted:
            return lambda _r: True
        if obj.name in ACTIVITIES:
            return lambda r: not r["IsDeleted"] and not r.get("IsArchived")
        return lambda r: not r["IsDeleted"]

    def candidates(self, compiled: Compiled) -> Iterable[Record]:
        """The rows a top-level query can match: through the store's indexes when its WHERE requires an id,
        a lookup (or a path of lookups: `Event.WhatId`) to be in a list of 18-character ids, or an external
        id field to be in a list of strings, as a real org's indexes answer them; else the whole table. The
        predicate still decides every row."""
        where = compiled.query.where
        conditions = where.items if isinstance(where, BoolOp) and where.op == "AND" else (where,)
        for node in conditions:
            if isinstance(node, Compare) and node.op == "=":
                values: tuple[Literal, ...] = (node.value,)
            elif isinstance(node, InList) and not node.negate and isinstance(node.values, tuple):
                values = node.values
            else:
                continue
            if all(v.kind == "string" for v in values):
                found = self._indexed(compiled.obj, node.path.parts, [str(v.value) for v in values])
                if found is not None:
                    return {r["Id"]: r for r in found}.values()
        return self.store.table(compiled.obj.name).values()

    def _indexed(self, obj: ObjectDef, parts: tuple[str, ...], values: list[str]) -> list[Record] | None:
        """Rows of `obj` whose field path `parts` holds one of `values`; None when no index answers it."""
        if len(parts) == 1:
            field = self._lower_fields(obj).get(parts[0].lower())
            if field is not None and field.external_id and field.is_text:  # compared ignoring case
                match = self.store.matching
                return [r for v in values for r in match(obj.name, field.name, v, fold_case=True)]
            if field is None or field.type not in ("id", "reference") or any(len(v) != 18 for v in values):
                return None  # a 15-character id matches its 18-character form: left to the predicate
            if field.type == "id":
                rows = self.store.table(obj.name)
                return [rows[v] for v in values if v in rows]
            return [r for v in values for r in self.store.children(obj.name, field.name, v)]
        ref, target = self.relationship(obj, parts[0], 0)  # the path compiled: it names a relationship
        if target is NAME_OBJECT:  # polymorphic (What, Who): no one table to look in
            return None
        parents = self._indexed(target, parts[1:], values)
        if parents is None:
            return None
        return [r for p in parents for r in self.store.children(obj.name, ref.name, p["Id"])]

    def rows(self, compiled: Compiled, candidates: Any) -> list[Record]:
        rows = compiled.sort([r for r in candidates if compiled.predicate(r)])
        start = compiled.query.offset or 0
        end = start + compiled.query.limit if compiled.query.limit is not None else None
        return rows[start:end]

    def sorter(self, obj: ObjectDef, query: Query) -> Callable[[list[Record]], list[Record]]:
        keys = []
        for path, descending, nulls_last in query.order:
            getter, field = self.resolve(obj, path)
            null_flag = (1 if nulls_last else -1) * (-1 if descending else 1)
            keys.append((normaliser(getter, field), descending, null_flag))

        def sort(rows: list[Record]) -> list[Record]:
            for get, descending, null_flag in reversed(keys):
                rows.sort(key=_sort_key(get, null_flag), reverse=descending)
            return rows

        return sort

    def projector(self, obj: ObjectDef, query: Query) -> Callable[[Record], tuple[Record, int]]:
        node = self._node(obj, query.fields)
        children = [self._child(obj, sub) for sub in query.subqueries]

        def project(record: Record) -> tuple[Record, int]:
            out = node(record)
            rows = 1
            for name, fetch in children:
                out[name], count = fetch(record)
                rows += count
            return out, rows

        return project

    def _node(self, obj: ObjectDef, paths: list[FieldPath]) -> Callable[[Record], Record]:
        """Project the selected fields of one object, recursing into parent relationships."""
        leaves: list[tuple[str, Getter]] = []
        parents: dict[str, tuple[FieldDef, ObjectDef, list[FieldPath]]] = {}
        for path in paths:
            if len(path.parts) == 1:
                field = self.field_named(obj, path.parts[0], path.pos)
                if all(name != field.name for name, _ in leaves):
                    leaves.append((field.name, self._leaf_getter(obj, field)))
                continue
            ref, target = self.relationship(obj, path.parts[0], path.pos)
            entry = parents.setdefault(ref.relationship_name or ref.name, (ref, target, []))
            entry[2].append(FieldPath(path.parts[1:], path.pos))
        nested = [(name, ref.name, self._node(target, sub)) for name, (ref, target, sub) in parents.items()]
        url_prefix, get, type_of, type_name = self.url_prefix, self.store.get, self.store.type_of, obj.name

        def node(record: Record) -> Record:
            kind = type_name if type_name != "Name" else "Name"
            real = type_of(record["Id"]) or type_name
            out: Record = {"attributes": {"type": kind, "url": f"{url_prefix}{real}/{record['Id']}"}}
            for name, getter in leaves:
                out[name] = getter(record)
            for rel_name, ref_name, sub_node in nested:
                parent = get(record.get(ref_name))
                out[rel_name] = sub_node(parent) if parent is not None else None
            return out

        return node

    def _child(self, obj: ObjectDef, sub: Query) -> tuple[str, Callable[[Record], tuple[Any, int]]]:
        relation = next((c for c in obj.children.values() if c.name.lower() == sub.object.lower()), None)
        if relation is None or relation.child not in self.objects:
            raise SoqlError(
                "INVALID_TYPE",
                location(self.text, sub.pos) + f"Didn't understand relationship "
                f"'{sub.object}' in FROM part of query call. If you are attempting to use a custom "
                "relationship, be sure to append the '__r' after the custom relationship name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        compiled = self.compile(sub, self.objects[relation.child])
        children, page_size = self.store.children, self.store.child_page_size
        from sandbox.salesforce.query_pages import child_result  # cycle: pages build on projection

        def fetch(record: Record) -> tuple[Any, int]:
            rows = self.rows(compiled, children(relation.child, relation.field, record["Id"]))
            if not rows:
                return None, 0
            pairs = [compiled.project(r) for r in rows]
            result, returned = child_result(self.store, [p[0] for p in pairs], page_size, self.version)
            return result, sum(count for _, count in pairs[:returned])  # grandchildren count too

        return relation.name, fetch
