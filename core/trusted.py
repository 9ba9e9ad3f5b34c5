"""Building core's output models without re-validating them.

Core validates its inputs (a `Deal`, a `Playbook`) once at the edge; everything it then builds from them
(evidence, results, assessments, write plans) is correct by construction. Pydantic's validation, and even
`model_construct`, cost microseconds per object, which matters at tens of thousands of deals a second
(core builds about 25 models per deal), so `builder` fills a model's slots directly, exactly as
`model_construct` would for a model without private attributes. Callers must pass values of the declared
types (tuples, enums, aware datetimes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
# BaseModel's four instance slots, set through their descriptors: the frozen models' own __setattr__
# refuses, and object.__setattr__ would look each descriptor up again on every call.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_builders: dict[type[BaseModel], Callable[[dict[str, Any]], Any]] = {}


def builder(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """A function making an instance of `cls` from a dict holding a value for EVERY field (not copied).

    The dict's order is the instance's `__dict__` order (what `repr` shows); callers list fields in the
    model's order (plan.py's task completion keeps an older order on purpose). Every instance of `cls`
    shares one fields-set object (they all have every field set): pydantic never changes it in place on a
    frozen model (`model_copy` copies it first), and building a new set per instance would cost as much as
    the rest of this function.
    """
    found = _builders.get(cls)
    if found is not None:
        return found
    fields_set = set(cls.model_fields)

    def build(values: dict[str, Any]) -> M:
        model = _new(cls)
        _set_dict(model, values)
        _set_fields_set(model, fields_set)
        _set_extra(model, None)
        _set_private(model, None)
        return model

    _builders[cls] = build
    return build
