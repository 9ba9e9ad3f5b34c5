"""Text a CRM answers with that cannot be written anywhere, made writable as the answer is read.

A UTF-16 surrogate on its own (an emoji a Java backend cut in half, a title truncated at its limit) arrives
as a JSON escape ("\\ud83d") or as raw UTF-8 bytes, and `json.loads` lets both through; no UTF-8 encoder
accepts it (the evidence text's byte limit, the state store, the next write), so it failed the whole run.
A NUL ("\\u0000", left by an import) is no text either, and PostgreSQL refuses it in a text column. Both
connectors clean their answers with `writable`, and only when `needs_cleaning` finds one of them in the raw
bytes: one C-level scan of each answer, the walk over the parsed answer only for the rare one that needs it.
"""

from __future__ import annotations

import re
from typing import Any

# A lone or paired surrogate escape, a raw UTF-8-encoded surrogate, or a NUL escape. Paired escapes decode
# to one character and are left alone by `writable`; finding them only costs the walk.
_UNWRITABLE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]|\\u0000")


def needs_cleaning(raw: bytes | str) -> bool:
    """Whether the raw JSON answer may hold a lone surrogate or a NUL."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    return _UNWRITABLE.search(data) is not None


def writable(value: Any) -> Any:
    """`value` (parsed JSON) with each lone surrogate in its strings (keys too) replaced by U+FFFD and each
    NUL dropped."""
    if isinstance(value, str):
        value = value.replace("\x00", "")
        if not any("\ud800" <= char <= "\udfff" for char in value):
            return value
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(value, dict):
        return {writable(k): writable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [writable(v) for v in value]
    return value
