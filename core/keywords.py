"""Fast whole-word keyword search over one deal's texts, with the same meaning as
`Playbook.keyword_patterns`.

A deal has tens of texts and the playbook about a hundred phrases; running ten regexes over every text
costs hundreds of microseconds a deal. Instead each deal's texts are joined and lower-cased once, split
into word tokens (bytes-level, so it runs in C) and intersected with the playbook's vocabulary, and a
phrase is only searched for when all its tokens are present. Hits are then located with `str.find` and
checked for word boundaries exactly as the regex `\\b(?:phrase|...)\\b` would (a word character is
alphanumeric or `_`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, replace

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
    # Every token of every group of the playbook (one shared object): a text's tokens are only ever
    # intersected with it, which is much cheaper than building a set of all the text's tokens.
    vocabulary: frozenset[bytes] = frozenset()

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
        vocabulary = frozenset(
            token for first, entries in by_first.items() for _, rest in entries for token in (first, *rest)
        )
        return cls(name, {k: tuple(v) for k, v in by_first.items()}, tuple(tokenless), vocabulary)


def build_groups(keywords: Mapping[str, Sequence[str]]) -> dict[str, KeywordGroup]:
    groups = [KeywordGroup.build(name, phrases) for name, phrases in keywords.items()]
    vocabulary = frozenset().union(*(g.vocabulary for g in groups))
    return {g.name: replace(g, vocabulary=vocabulary) for g in groups}


class TextIndex:
    """The lower-cased texts of one deal, searchable by keyword group.

    `first` answers the common question "which is the earliest text (among these) that matches?" and
    stops scanning as soon as no later match can beat the best found; `search` lists every matching text.
    """

    __slots__ = ("_candidates", "_ends", "_joined", "_offsets", "_tokens", "_vocabulary")

    def __init__(self, texts: Sequence[str]) -> None:
        """`texts` as written; lower-casing them joined is much cheaper than one by one."""
        # "\n" is not a word character, so no phrase match spans two texts.
        joined = "\n".join(texts)
        lowered = joined.lower()
        if len(lowered) == len(joined):
            lengths = [len(t) for t in texts]
        else:  # lower() lengthened some character ("İ"): lower text by text so offsets stay per text
            lowered_texts = [t.lower() for t in texts]
            lowered = "\n".join(lowered_texts)
            lengths = [len(t) for t in lowered_texts]
        offsets, ends, position = [], [], 0
        for length in lengths:
            offsets.append(position)
            position += length
            ends.append(position)
            position += 1
        self._offsets, self._ends, self._joined = offsets, ends, lowered
        self._tokens: frozenset[bytes] | None = None
        self._vocabulary: frozenset[bytes] | None = None
        self._candidates: dict[str, tuple[str, ...]] = {}

    def text(self, index: int) -> str:
        """Text `index`, lower-cased."""
        return self._joined[self._offsets[index] : self._ends[index]]

    def candidates(self, group: KeywordGroup) -> tuple[str, ...]:
        """The group's phrases whose every word token occurs somewhere in the texts (cached)."""
        found = self._candidates.get(group.name)
        if found is None:
            if self._tokens is None or self._vocabulary is not group.vocabulary:
                self._vocabulary = group.vocabulary
                self._tokens = group.vocabulary.intersection(word_tokens(self._joined))
            tokens = self._tokens
            found = (
                tuple(
                    phrase
                    for first in tokens.intersection(group.by_first_token)
                    for phrase, rest in group.by_first_token[first]
                    if all(t in tokens for t in rest)
                )
                + group.tokenless
            )
            self._candidates[group.name] = found
        return found

    def _whole_word(self, pos: int, phrase: str) -> bool:
        joined, end = self._joined, pos + len(phrase)
        before = pos > 0 and _is_word(joined[pos - 1])
        after = end < len(joined) and _is_word(joined[end])
        return before != _is_word(phrase[0]) and after != _is_word(phrase[-1])

    def first(self, group: KeywordGroup, allowed: Container[int] | None = None) -> tuple[int, int] | None:
        """(text index, offset in that text) of the earliest match in an allowed text, or None."""
        joined, offsets, ends = self._joined, self._offsets, self._ends
        best: tuple[int, int] | None = None
        limit = len(joined)
        for phrase in self.candidates(group):
            start = 0
            while (pos := joined.find(phrase, start, limit)) != -1:
                index = bisect_right(offsets, pos) - 1
                if allowed is not None and index not in allowed:
                    if index + 1 >= len(offsets):
                        break
                    start = offsets[index + 1]
                    continue
                if not self._whole_word(pos, phrase):
                    start = pos + 1
                    continue
                if best is None or pos < best[0]:
                    best = (pos, index)
                    limit = ends[index]  # a later phrase only matters if it matches up to this text
                break
        return None if best is None else (best[1], best[0] - offsets[best[1]])

    def within(self, group: KeywordGroup, index: int) -> int | None:
        """The offset of the group's first match inside text `index`, or None."""
        joined, begin, end = self._joined, self._offsets[index], self._ends[index]
        best: int | None = None
        for phrase in self.candidates(group):
            start = begin
            while (pos := joined.find(phrase, start, end)) != -1:
                if self._whole_word(pos, phrase):
                    best = pos if best is None or pos < best else best
                    break
                start = pos + 1
        return None if best is None else best - begin

    def search(self, group: KeywordGroup) -> dict[int, int]:
        """{text index: offset of its first match} for every text the group matches, in text order."""
        hits: dict[int, int] = {}
        phrases = self.candidates(group)
        for index in range(len(self._offsets)):
            text = self.text(index)
            if any(phrase in text for phrase in phrases):
                offset = self.within(group, index)
                if offset is not None:
                    hits[index] = offset
        return hits
