"""Turning Deal JSON (an already-parsed document, see docs/deal-json.md) into `Deal`s, deal by deal.

One bad deal does not spoil the file: every deal that validates is returned, and each one that does not
becomes a `DealInputError` naming its position, its id (when it has one) and every field problem, in
words a person fixing the file understands. Pure: the caller reads the file and parses the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from core.models import Deal


@dataclass(frozen=True)
class FieldProblem:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class DealInputError:
    """Why the deal at `index` (0-based) could not be read."""

    index: int
    deal_id: str | None
    problems: tuple[FieldProblem, ...]

    @property
    def where(self) -> str:
        return f"deal #{self.index}" + (f" (id {self.deal_id!r})" if self.deal_id is not None else "")

    def __str__(self) -> str:
        return f"{self.where}: " + "; ".join(str(p) for p in self.problems)


def _path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(the deal)"


def _problem(error: Any) -> FieldProblem:
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message = "unknown field (see docs/deal-json.md for the fields a deal may have)"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif "input" in error and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    return FieldProblem(_path(tuple(error["loc"])), message)


def _deal_id(item: object) -> str | None:
    if isinstance(item, dict):
        value = item.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def parse_deal(item: object, index: int) -> Deal | DealInputError:
    """One deal, or the reasons it is not one."""
    deal_id = _deal_id(item)
    if not isinstance(item, dict):
        return DealInputError(
            index, None, (FieldProblem("(the deal)", f"expected a JSON object, got {type(item).__name__}"),)
        )
    try:
        deal = Deal.model_validate(item)
    except ValidationError as exc:
        return DealInputError(index, deal_id, tuple(_problem(e) for e in exc.errors()))
    if deal.is_won and not deal.is_closed:
        problem = FieldProblem("is_won", "a won deal must also have is_closed: true")
        return DealInputError(index, deal_id, (problem,))
    return deal


def deal_items(document: object) -> list[object]:
    """The deal list of a document: a JSON array of deals, or an object with a "deals" array."""
    if isinstance(document, dict) and isinstance(document.get("deals"), list):
        return list(document["deals"])
    if isinstance(document, list):
        return document
    raise ValueError('expected a JSON array of deals (or an object with a "deals" array)')


def parse_deals(items: object) -> tuple[list[Deal], list[DealInputError]]:
    """Every deal that validates, and an error for each one that does not (duplicate ids included).

    `items` is a parsed JSON document: a list of deals or {"deals": [...]}; anything else raises ValueError.
    """
    deals: list[Deal] = []
    errors: list[DealInputError] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(deal_items(items)):
        parsed = parse_deal(item, index)
        if isinstance(parsed, DealInputError):
            errors.append(parsed)
        elif parsed.id in first_index:
            problem = FieldProblem("id", f"duplicate deal id; deal #{first_index[parsed.id]} has it too")
            errors.append(DealInputError(index, parsed.id, (problem,)))
        else:
            first_index[parsed.id] = index
            deals.append(parsed)
    return deals, errors
