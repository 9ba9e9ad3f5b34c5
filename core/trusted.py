"""Building core's output models without re-validating them.

Core validates its inputs (a `Deal`, a `Playbook`) once at the edge; everything it then builds from them
(evidence, results, assessments, write plans) is correct by construction. Pydantic's validation, and even
`model_construct`, cost microseconds per object, which matters at tens of thousands of deals a second, so
`trusted` fills a model's slots directly, exactly as `model_construct` would for a model without private
attributes. Callers must pass values of the declared types (tuples, enums, aware datetimes).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__
_defaults: dict[type[BaseModel], dict[str, Any]] = {}
_field_counts: dict[type[BaseModel], int] = {}


def _static_defaults(cls: type[BaseModel]) -> dict[str, Any]:
    found = _defaults.get(cls)
    if found is None:
        found = {
            name: info.get_default(call_default_factory=True)
            for name, info in cls.model_fields.items()
            if not info.is_required()
        }
        _defaults[cls] = found
    return found


def trusted(cls: type[M], **values: Any) -> M:
    """An instance of `cls` holding `values` (plus the field defaults), without validation."""
    count = _field_counts.get(cls)
    if count is None:
        count = _field_counts[cls] = len(cls.model_fields)
    if len(values) != count:
        values = {**_static_defaults(cls), **values}
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model
