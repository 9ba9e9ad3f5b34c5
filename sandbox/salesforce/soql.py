"""A SOQL parser for the subset a sync connector uses, producing a small syntax tree.

Supported: `SELECT` field lists with parent paths (`Owner.Name`, `What.Type`), parent-to-child subqueries
`(SELECT ... FROM Relationship [WHERE] [ORDER BY] [LIMIT])`, `COUNT()`, `FROM`, `WHERE` with AND / OR / NOT
and parentheses, = != <> < <= > >=, IN / NOT IN (literal lists or a semi-join subquery), LIKE,
INCLUDES / EXCLUDES, null, true/false, numbers, 'strings' with backslash escapes, date literals
(2024-01-01), datetime literals (2024-01-01T00:00:00Z, +00:00 and +0000 offsets) and the date keywords
TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n; `ORDER BY` with ASC/DESC and NULLS FIRST/LAST,
`LIMIT`, `OFFSET`. Syntax errors raise `SoqlError("MALFORMED_QUERY", ...)` with Salesforce's
"ERROR at Row:1:Column:N" message form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.salesforce.values import normalise_datetime

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^'\\]|\\.)*')
   |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
   |(?P<date>\d{4}-\d{2}-\d{2})(?![\d:T])
   |(?P<number>[+-]?\d+(?:\.\d+)?)
   |(?P<op><=|>=|!=|<>|=|<|>)
   |(?P<punct>[(),:])
   |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
)""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
DATE_KEYWORDS = frozenset({"TODAY", "YESTERDAY", "TOMORROW", "LAST_N_DAYS", "NEXT_N_DAYS"})


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str  # string | number | date | datetime | null | bool | date_keyword
    value: Any


@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]
    pos: int


@dataclass
class Query:
    object: str
    fields: list[FieldPath] = field(default_factory=list)
    subqueries: list[Query] = field(default_factory=list)
    count: bool = False
    where: Any = None
    order: list[tuple[FieldPath, bool, bool]] = field(default_factory=list)  # (path, descending, nulls_last)
    limit: int | None = None
    offset: int | None = None
    pos: int = 0


@dataclass(frozen=True)
class Compare:
    path: FieldPath
    op: str
    value: Literal


@dataclass(frozen=True)
class InList:
    path: FieldPath
    values: tuple[Literal, ...] | Query
    negate: bool


@dataclass(frozen=True)
class Includes:
    path: FieldPath
    values: tuple[str, ...]
    exclude: bool


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND | OR | NOT
    items: tuple[Any, ...]


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.lastgroup is None:
            start = len(text) - len(text[pos:].lstrip())
            raise malformed(text, start, f"unexpected token: '{text[start : start + 10].split()[0]}'")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


def malformed(text: str, pos: int, detail: str) -> SoqlError:
    return SoqlError("MALFORMED_QUERY", location(text, pos) + detail)


def location(text: str, pos: int) -> str:
    line_start = text.rfind("\n", 0, pos) + 1
    row = text.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    snippet = text[line_start : text.find("\n", pos) if "\n" in text[pos:] else len(text)]
    return f"\n{snippet}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n"


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), raw[1:-1])


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # ---- token helpers ---------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> Token | None:
        index = self.i + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "ident" and token.text.upper() in words

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise malformed(self.text, len(self.text), "unexpected end of query")
        self.i += 1
        return token

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.take()
        if token.kind != kind or (text is not None and token.text.upper() != text):
            raise malformed(self.text, token.pos, f"unexpected token: '{token.text}'")
        return token

    def expect_keyword(self, word: str) -> Token:
        return self.expect("ident", word)

    # ---- grammar ---------------------------------------------------------------------------------
    def parse(self) -> Query:
        query = self.query()
        extra = self.peek()
        if extra is not None:
            raise malformed(self.text, extra.pos, f"unexpected token: '{extra.text}'")
        return query

    def query(self) -> Query:
        start = self.expect_keyword("SELECT")
        items: list[Any] = []
        count = False
        while True:
            if self.keyword("COUNT") and self.peek(1) and self.peek(1).text == "(":  # type: ignore[union-attr]
                self.take(), self.expect("punct", "("), self.expect("punct", ")")
                count = True
            elif self.peek() is not None and self.peek().text == "(":  # type: ignore[union-attr]
                self.take()
                items.append(self.query())
                self.expect("punct", ")")
            else:
                token = self.expect("ident")
                if token.text.upper() == "FROM":
                    raise malformed(self.text, token.pos, "unexpected token: 'FROM'")
                items.append(FieldPath(tuple(token.text.split(".")), token.pos))
            if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take()
                continue
            break
        self.expect_keyword("FROM")
        query = Query(self.expect("ident").text, pos=start.pos, count=count)
        query.fields = [i for i in items if isinstance(i, FieldPath)]
        query.subqueries = [i for i in items if isinstance(i, Query)]
        self._clauses(query)
        return query

    def _clauses(self, query: Query) -> None:
        if self.keyword("WHERE"):
            self.take()
            query.where = self.or_expr()
        if self.keyword("ORDER"):
            self.take()
            self.expect_keyword("BY")
            query.order = self.order_items()
        if self.keyword("LIMIT"):
            self.take()
            query.limit = int(self.expect("number").text)
        if self.keyword("OFFSET"):
            self.take()
            query.offset = int(self.expect("number").text)

    def order_items(self) -> list[tuple[FieldPath, bool, bool]]:
        items = []
        while True:
            token = self.expect("ident")
            descending = False
            if self.keyword("ASC", "DESC"):
                descending = self.take().text.upper() == "DESC"
            nulls_last = descending
            if self.keyword("NULLS"):
                self.take()
                nulls_last = self.expect("ident").text.upper() == "LAST"
            items.append((FieldPath(tuple(token.text.split(".")), token.pos), descending, nulls_last))
            if self.peek() is None or self.peek().text != ",":  # type: ignore[union-attr]
                return items
            self.take()

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self.keyword("OR"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_expr(self) -> Any:
        items = [self.not_expr()]
        while self.keyword("AND"):
            self.take()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def not_expr(self) -> Any:
        if self.keyword("NOT"):
            self.take()
            return BoolOp("NOT", (self.not_expr(),))
        if self.peek() is not None and self.peek().text == "(":  # type: ignore[union-attr]
            self.take()
            inner = self.or_expr()
            self.expect("punct", ")")
            return inner
        return self.condition()

    def condition(self) -> Any:
        token = self.expect("ident")
        path = FieldPath(tuple(token.text.split(".")), token.pos)
        if self.keyword("NOT") and (nxt := self.peek(1)) is not None and nxt.text.upper() == "IN":
            self.take(), self.take()
            return InList(path, self.in_values(), negate=True)
        if self.keyword("IN"):
            self.take()
            return InList(path, self.in_values(), negate=False)
        if self.keyword("LIKE"):
            self.take()
            return Compare(path, "LIKE", self.literal())
        if self.keyword("INCLUDES", "EXCLUDES"):
            exclude = self.take().text.upper() == "EXCLUDES"
            values = self.in_values()
            if isinstance(values, Query) or any(v.kind != "string" for v in values):
                raise malformed(self.text, token.pos, "INCLUDES/EXCLUDES take a list of strings")
            return Includes(path, tuple(v.value for v in values), exclude)
        op = self.expect("op").text
        return Compare(path, "!=" if op == "<>" else op, self.literal())

    def in_values(self) -> tuple[Literal, ...] | Query:
        self.expect("punct", "(")
        if self.keyword("SELECT"):
            sub = self.query()
            self.expect("punct", ")")
            return sub
        values = [self.literal()]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.take()
            values.append(self.literal())
        self.expect("punct", ")")
        return tuple(values)

    def literal(self) -> Literal:
        token = self.take()
        if token.kind == "string":
            return Literal("string", _unquote(token.text))
        if token.kind == "number":
            return Literal("number", float(token.text))
        if token.kind == "date":
            return Literal("date", token.text)
        if token.kind == "datetime":
            return Literal("datetime", normalise_datetime(token.text))
        word = token.text.upper() if token.kind == "ident" else ""
        if word == "NULL":
            return Literal("null", None)
        if word in ("TRUE", "FALSE"):
            return Literal("bool", word == "TRUE")
        if word in DATE_KEYWORDS:
            days = 0
            if word.endswith("_N_DAYS"):
                self.expect("punct", ":")
                days = int(self.expect("number").text)
            return Literal("date_keyword", (word, days))
        raise malformed(self.text, token.pos, f"unexpected token: '{token.text}'")


def parse(text: str) -> Query:
    return Parser(text).parse()
