"""Fast whole-word keyword search over one deal's texts, with the same meaning as
`Playbook.keyword_patterns`.

A deal has tens of texts and the playbook about a hundred phrases; running ten regexes over every text
costs hundreds of microseconds a deal. Instead each deal's texts are joined and lower-cased once, split
into a set of word tokens (bytes-level, so it runs in C), and a keyword group is only searched when all
tokens of one of its phrases are present. Hits are then located with `str.find` and checked for word
boundaries exactly as the regex `\\b(?:phrase|...)\\b` would (a word character is alphanumeric or `_`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Bytes that are not ASCII word characters become spaces; non-ASCII bytes do too, which can only split a
# token more finely, so "all phrase tokens present" stays a necessary condition for a regex match.
_TOKEN_TABLE = bytes(
    b if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122 or b == 95) else 32 for b in range(256)
)


def word_tokens(text: str) -> list[bytes]:
    """The word tokens of an already lower-cased text, as the prefilter sees them."""
    return text.encode("utf-8", "surrogatepass").translate(_TOKEN_TABLE).split()


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@dataclass(frozen=True)
class KeywordGroup:
    """One playbook keyword group, prepared for `TextIndex.search`."""

    name: str
    phrases: tuple[tuple[str, tuple[bytes, ...]], ...]
    key_tokens: frozenset[bytes]
    always_check: bool

    @classmethod
    def build(cls, name: str, phrases: Sequence[str]) -> KeywordGroup:
        prepared = tuple((p.lower(), tuple(word_tokens(p.lower()))) for p in phrases)
        keys = frozenset(tokens[0] for _, tokens in prepared if tokens)
        return cls(name, prepared, keys, always_check=any(not tokens for _, tokens in prepared))


def build_groups(keywords: Mapping[str, Sequence[str]]) -> dict[str, KeywordGroup]:
    return {name: KeywordGroup.build(name, phrases) for name, phrases in keywords.items()}


@dataclass
class TextIndex:
    """The lower-cased texts of one deal, searchable by keyword group; results are cached per group."""

    texts: Sequence[str]
    _joined: str = field(init=False)
    _offsets: list[int] = field(init=False)
    _tokens: frozenset[bytes] | None = field(init=False, default=None)
    _cache: dict[str, dict[int, int]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        offsets, position = [], 0
        for text in self.texts:
            offsets.append(position)
            position += len(text) + 1
        self._offsets = offsets
        # "\n" is not a word character, so no phrase match spans two texts.
        self._joined = "\n".join(self.texts)

    def search(self, group: KeywordGroup) -> dict[int, int]:
        """{text index: offset of its first match within that text} for every text the group matches."""
        cached = self._cache.get(group.name)
        if cached is None:
            cached = self._cache[group.name] = self._search(group)
        return cached

    def _search(self, group: KeywordGroup) -> dict[int, int]:
        if self._tokens is None:
            self._tokens = frozenset(word_tokens(self._joined))
        tokens = self._tokens
        if not group.always_check and tokens.isdisjoint(group.key_tokens):
            return {}
        hits: dict[int, int] = {}
        for phrase, phrase_tokens in group.phrases:
            if all(t in tokens for t in phrase_tokens):
                self._locate(phrase, hits)
        return dict(sorted(hits.items()))

    def _locate(self, phrase: str, hits: dict[int, int]) -> None:
        joined, start = self._joined, 0
        while phrase and (pos := joined.find(phrase, start)) != -1:
            start = pos + 1
            end = pos + len(phrase)
            before = pos > 0 and _is_word(joined[pos - 1])
            after = end < len(joined) and _is_word(joined[end])
            if before == _is_word(phrase[0]) or after == _is_word(phrase[-1]):
                continue
            index = bisect_right(self._offsets, pos) - 1
            offset = pos - self._offsets[index]
            if index not in hits or offset < hits[index]:
                hits[index] = offset
