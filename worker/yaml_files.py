"""YAML for the files an admin edits (connections, secrets, playbooks): safe, and strict about duplicate keys.

PyYAML keeps the last of two equal keys in a mapping without a word. In a connections file that silently
drops connections: the block `commitments sandbox serve` prints starts with `connections:`, and pasted under
a file that already has that key it replaces every connection above it. A duplicate key is therefore a
YAML error naming both lines.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping."""


_MERGE = "tag:yaml.org,2002:merge"


def _mapping(loader: _StrictLoader, node: MappingNode) -> dict[Any, Any]:
    first: dict[Hashable, int] = {}
    for key_node, _value in node.value:
        if key_node.tag == _MERGE:
            continue  # a key written here may override one a `<<` merge brings in: only written keys count
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            continue  # construct_mapping reports an unhashable key itself
        if key in first:
            raise ConstructorError(
                None, None, f"duplicate key {key} (first at line {first[key] + 1})", key_node.start_mark
            )
        first[key] = key_node.start_mark.line
    return loader.construct_mapping(node)  # which flattens the merges


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, except that a key repeated in a mapping is a `yaml.MarkedYAMLError`, and a tab where
    YAML wants spaces is said plainly, not as PyYAML's "found character '\\t' that cannot start any token"."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: safe
    except yaml.MarkedYAMLError as exc:
        if exc.problem and ("'\\t'" in exc.problem or "tab character" in exc.problem):
            exc.problem = "a tab; indent with spaces, YAML does not allow tabs"
        raise
