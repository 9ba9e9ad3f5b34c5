"""SOQL WHERE clauses compiled into predicates: AND/OR/NOT, comparisons, IN and semi-joins, LIKE,
INCLUDES/EXCLUDES on multi-select picklists, and the date keywords (TODAY, LAST_N_DAYS:n ...).

Text compares case-insensitively, datetimes as normalised UTC strings, and a literal of the wrong kind
for its field (a quoted date, an unquoted string) raises INVALID_QUERY_FILTER_OPERATOR with Salesforce's
wording. Used by `soql_eval.Evaluator`, whose field resolution and row selection it borrows.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.salesforce.schema import FieldDef, ObjectDef
from sandbox.salesforce.soql import (
    BoolOp,
    Compare,
    FieldPath,
    Includes,
    InList,
    Literal,
    Query,
    SoqlError,
    location,
)
from sandbox.salesforce.store import Record
from sandbox.salesforce.values import sf_datetime

if TYPE_CHECKING:
    from sandbox.salesforce.soql_eval import Evaluator

Getter = Callable[[Record], Any]
Predicate = Callable[[Record], bool]
NUMERIC = frozenset({"double", "currency", "percent", "int"})
_ORDERED = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def normaliser(getter: Getter, field: FieldDef) -> Getter:
    """Text is compared lower-cased."""
    if field.is_text:
        return lambda r: None if (v := getter(r)) is None else v.lower()
    return getter


class Filters:
    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.text = evaluator.text

    def condition(self, obj: ObjectDef, node: Any) -> Predicate:
        if isinstance(node, BoolOp):
            parts = [self.condition(obj, item) for item in node.items]
            if node.op == "NOT":
                return lambda r: not parts[0](r)
            if node.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        getter, field = self.evaluator.resolve(obj, node.path)
        if isinstance(node, Includes):
            return self._includes(getter, field, node)
        if isinstance(node, InList):
            return self._in(getter, field, node)
        return self._compare(getter, field, node)

    def _includes(self, getter: Getter, field: FieldDef, node: Includes) -> Predicate:
        if field.type != "multipicklist":
            raise self._bad_operator(
                node.path, "includes or excludes operator only valid on multipicklist field"
            )
        wanted = [frozenset(v.lower().split(";")) for v in node.values]

        def matches(record: Record) -> bool:
            value = getter(record)
            have = frozenset(value.lower().split(";")) if value else frozenset()
            return any(w <= have for w in wanted) != node.exclude

        return matches

    def _in(self, getter: Getter, field: FieldDef, node: InList) -> Predicate:
        if isinstance(node.values, Query):
            values = self._semi_join(node.values)
        else:
            values = {self._operand(field, lit, node.path) for lit in node.values}
        norm = normaliser(getter, field)
        return lambda r: (norm(r) in values) != node.negate

    def _semi_join(self, sub: Query) -> set[Any]:
        evaluator = self.evaluator
        compiled = evaluator.compile(sub)
        if len(sub.fields) != 1 or sub.subqueries:
            raise SoqlError(
                "MALFORMED_QUERY",
                location(self.text, sub.pos) + "semi join sub-selects must select exactly one field",
            )
        getter, field = evaluator.resolve(compiled.obj, sub.fields[0])
        rows = evaluator.rows(compiled, evaluator.candidates(compiled))
        norm = normaliser(getter, field)
        return {norm(r) for r in rows}

    def _compare(self, getter: Getter, field: FieldDef, node: Compare) -> Predicate:
        literal = node.value
        if literal.kind == "null":
            if node.op not in ("=", "!="):
                raise self._bad_operator(node.path, "null can only be compared with = or !=")
            return (lambda r: getter(r) is None) if node.op == "=" else (lambda r: getter(r) is not None)
        if node.op == "LIKE":
            return self._like(getter, field, node)
        if literal.kind == "date_keyword":
            return self._date_range(getter, field, node)
        target = self._operand(field, literal, node.path)
        norm = normaliser(getter, field)
        if field.type == "multipicklist" and node.op in ("=", "!="):
            wanted = frozenset(str(target).split(";"))
            return lambda r: (frozenset((norm(r) or "").split(";")) == wanted) == (node.op == "=")
        if node.op == "=":
            return lambda r: norm(r) == target
        if node.op == "!=":
            return lambda r: norm(r) != target
        compare = _ORDERED[node.op]
        return lambda r: (v := norm(r)) is not None and compare(v, target)

    def _like(self, getter: Getter, field: FieldDef, node: Compare) -> Predicate:
        if node.value.kind != "string" or not (field.is_text or field.type in ("id", "reference")):
            raise self._bad_operator(node.path, "invalid operator on field")
        pattern = ""
        escaped = False
        for char in str(node.value.value):
            if escaped:
                pattern += re.escape(char)
                escaped = False
            elif char == "\\":
                escaped = True
            else:
                pattern += {"%": ".*", "_": "."}.get(char, re.escape(char))
        regex = re.compile(pattern, re.IGNORECASE | re.DOTALL)
        return lambda r: (v := getter(r)) is not None and regex.fullmatch(str(v)) is not None

    def _operand(self, field: FieldDef, literal: Literal, path: FieldPath) -> Any:
        kind, value = literal.kind, literal.value
        expected = {"date": "date", "datetime": "datetime", "boolean": "bool"}.get(field.type)
        if expected is None:
            expected = "number" if field.type in NUMERIC else "string"
        if kind == "null":
            return None
        if kind != expected:
            quoted = (
                "should be enclosed in quotes" if expected == "string" else "should not be enclosed in quotes"
            )
            type_name = {"datetime": "dateTime", "bool": "boolean"}.get(expected, expected)
            raise self._bad_operator(
                path,
                f"value of filter criterion for field '{field.name}' must be of type {type_name} "
                f"and {quoted}",
            )
        if field.is_text:
            return str(value).lower()
        if field.type == "int":
            return int(value)
        return value

    def _date_range(self, getter: Getter, field: FieldDef, node: Compare) -> Predicate:
        if field.type not in ("date", "datetime"):
            raise self._bad_operator(
                node.path,
                f"value of filter criterion for field '{field.name}' must be of "
                "type string and should be enclosed in quotes",
            )
        word, days = node.value.value
        today = self.evaluator.store.clock().date()
        start, end = {
            "TODAY": (0, 1),
            "YESTERDAY": (-1, 0),
            "TOMORROW": (1, 2),
            "LAST_N_DAYS": (-days, 1),
            "NEXT_N_DAYS": (1, days + 1),
        }[word]
        low, high = (self._bound(field, today + timedelta(days=d)) for d in (start, end))
        checks: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: low <= v < high,
            "!=": lambda v: not low <= v < high,
            "<": lambda v: v < low,
            "<=": lambda v: v < high,
            ">": lambda v: v >= high,
            ">=": lambda v: v >= low,
        }
        check = checks[node.op]
        return lambda r: (v := getter(r)) is not None and check(v)

    @staticmethod
    def _bound(field: FieldDef, day: date) -> str:
        return (
            day.isoformat()
            if field.type == "date"
            else sf_datetime(datetime.combine(day, time(), tzinfo=UTC))
        )

    def _bad_operator(self, path: FieldPath, detail: str) -> SoqlError:
        return SoqlError("INVALID_QUERY_FILTER_OPERATOR", location(self.text, path.pos) + detail)
