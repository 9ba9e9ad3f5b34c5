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
    """One playbook keyword group, prepared for `TextIndex.search`: phrases indexed by their first token."""

    name: str
    by_first_token: dict[bytes, tuple[tuple[str, tuple[bytes, ...]], ...]]
    tokenless: tuple[str, ...]  # phrases with no word character at all (always searched)

    @classmethod
    def build(cls, name: str, phrases: Sequence[str]) -> KeywordGroup:
        by_first: dict[bytes, list[tuple[str, tuple[bytes, ...]]]] = {}
        tokenless: list[str] = []
        for phrase in dict.fromkeys(p.lower() for p in phrases):
            tokens = tuple(word_tokens(phrase))
            if tokens:
                by_first.setdefault(tokens[0], []).append((phrase, tokens[1:]))
            else:
                tokenless.append(phrase)
        return cls(name, {k: tuple(v) for k, v in by_first.items()}, tuple(tokenless))


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
        hits: dict[int, int] = {}
        for first in tokens.intersection(group.by_first_token):
            for phrase, rest in group.by_first_token[first]:
                if all(t in tokens for t in rest):
                    self._locate(phrase, hits)
        for phrase in group.tokenless:
            self._locate(phrase, hits)
        return dict(sorted(hits.items())) if len(hits) > 1 else hits

    def _locate(self, phrase: str, hits: dict[int, int]) -> None:
        joined, offsets, start = self._joined, self._offsets, 0
        size, length = len(joined), len(phrase)
        word_first, word_last = _is_word(phrase[0]), _is_word(phrase[-1])
        while (pos := joined.find(phrase, start)) != -1:
            end = pos + length
            if (pos > 0 and _is_word(joined[pos - 1])) == word_first or (
                end < size and _is_word(joined[end])
            ) == word_last:
                start = pos + 1
                continue
            index = bisect_right(offsets, pos) - 1
            offset = pos - offsets[index]
            if index not in hits or offset < hits[index]:
                hits[index] = offset
            # Only the first match per text matters; skip to the next text.
            if index + 1 >= len(offsets):
                return
            start = offsets[index + 1]
