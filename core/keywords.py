"""Fast whole-word keyword search over one deal's texts, with the same meaning as
`Playbook.keyword_patterns`.

A deal has tens of texts and the playbook about a hundred phrases; running ten regexes over every text
costs hundreds of microseconds a deal (CPython's `re` tries every alternative at every position). Instead
each deal's texts are joined and lower-cased once, split into word tokens (bytes-level, so it runs in C)
and intersected with the playbook's vocabulary, and a phrase is only searched for when all its tokens are
present. Hits are then located with `str.find` (much faster than `re` on literals) and checked for word
boundaries exactly as the regex `\\b(?:phrase|...)\\b` would (a word character is alphanumeric or `_`);
a match never spans two texts, as it cannot when each text is searched on its own. Unlike the regex, a
match right after a negation in its clause ("no budget allocated") does not count (see `negated`), nor does
one in a clause that asks a question ("budget approved?", see `questioned`).
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


# A match is not evidence when one of the few words before it, in the same clause, negates it ("no budget
# allocated", "not yet signed off"); a clause ends at punctuation or a line break (so never crosses texts).
NEGATIONS = frozenset(
    [
        "no",
        "not",
        "never",
        "without",
        "nor",
        "cannot",
        "can't",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "wasn't",
        "aren't",
        "weren't",
        "hasn't",
        "haven't",
        "hadn't",
        "won't",
        "wouldn't",
        "lack",
        "lacks",
        "lacking",
    ]
)
_NEGATION_WORDS = 3
_NEGATION_WINDOW = 48  # characters looked back: enough for three ordinary words
_CLAUSE_ENDS = ".,;:!?\n"
_WORD_EDGE = "\"'()[]*-"


def negated(lowered: str, pos: int) -> bool:
    """Whether the match at `pos` of the lower-cased `lowered` follows a negation in its own clause."""
    if pos == 0 or lowered[pos - 1] == "\n":
        return False  # the text opens with the match (a subject such as "Discovery call")
    begin = pos - _NEGATION_WINDOW if pos > _NEGATION_WINDOW else 0
    window = lowered[begin:pos]
    # Cheap substring tests first (every negation contains one of them): most matches have none nearby.
    if (
        "no" not in window
        and "n't" not in window
        and "n\u2019t" not in window
        and "never" not in window
        and "without" not in window
        and "lack" not in window
    ):
        return False
    cut = max(window.rfind(mark) for mark in _CLAUSE_ENDS)
    words = window[cut + 1 :].replace("\u2019", "'").split()
    if cut < 0 and begin > 0 and words and not window[0].isspace():
        previous = lowered[begin - 1]
        if not previous.isspace() and previous not in _CLAUSE_ENDS:
            words = words[1:]  # the window opens inside a word: only its tail is in view
    return any(word.strip(_WORD_EDGE) in NEGATIONS for word in words[-_NEGATION_WORDS:])


# A match whose clause ends in a question mark asks rather than reports ("Budget approved? Not yet.",
# "Did legal sign off?"), so it is not evidence either. Looking forward, a dash also ends a clause, so a
# subject such as "Kickoff call — any questions?" still reports its kickoff.
_QUESTION_WINDOW = 160  # characters looked ahead for the clause's end
_CLAUSE_ENDS_AHEAD = ".,;:!\n\u2014\u2013"  # every clause end but "?", and the em and en dashes


def questioned(lowered: str, end: int) -> bool:
    """Whether the match ending at `end` of the lower-cased `lowered` stands in a clause that asks."""
    mark = lowered.find("?", end, end + _QUESTION_WINDOW)
    if mark == -1:
        return False  # most matches: no question mark near, one C-level scan
    return not any(lowered.find(stop, end, mark) != -1 for stop in _CLAUSE_ENDS_AHEAD)


def reports(lowered: str, pos: int, end: int) -> bool:
    """Whether the match at [pos, end) states something: neither negated nor asked."""
    return not negated(lowered, pos) and not questioned(lowered, end)


# A phrase prepared for the search: (phrase, its tokens after the first, whether its first and its last
# character are word characters: that decides what `\b` demands of the text's neighbouring characters).
_Phrase = tuple[str, tuple[bytes, ...], bool, bool]


@dataclass(frozen=True)
class KeywordGroup:
    """One playbook keyword group, prepared for `TextIndex`: phrases indexed by their first token."""

    name: str
    by_first_token: dict[bytes, tuple[_Phrase, ...]]
    tokenless: tuple[_Phrase, ...]  # phrases with no word character at all (always searched)
    # Every token of every group of the playbook (one shared object): a text's tokens are only ever
    # intersected with it, which is much cheaper than building a set of all the text's tokens.
    vocabulary: frozenset[bytes] = frozenset()

    @classmethod
    def build(cls, name: str, phrases: Sequence[str]) -> KeywordGroup:
        by_first: dict[bytes, list[_Phrase]] = {}
        tokenless: list[_Phrase] = []
        for phrase in dict.fromkeys(p.lower() for p in phrases):
            tokens = tuple(word_tokens(phrase))
            prepared = (phrase, tokens[1:], _is_word(phrase[0]), _is_word(phrase[-1]))
            if tokens:
                by_first.setdefault(tokens[0], []).append(prepared)
            else:
                tokenless.append(prepared)
        vocabulary = frozenset(
            token for first, entries in by_first.items() for entry in entries for token in (first, *entry[1])
        )
        return cls(name, {k: tuple(v) for k, v in by_first.items()}, tuple(tokenless), vocabulary)


def build_groups(keywords: Mapping[str, Sequence[str]]) -> dict[str, KeywordGroup]:
    groups = [KeywordGroup.build(name, phrases) for name, phrases in keywords.items()]
    vocabulary = frozenset().union(*(g.vocabulary for g in groups))
    return {g.name: replace(g, vocabulary=vocabulary) for g in groups}


class TextIndex:
    """The lower-cased texts of one deal, searchable by keyword group.

    `first` answers the common question "which is the earliest text (among these) that matches?" and
    stops scanning as soon as no later match can beat the best found; `last` finds the latest match the
    same way; `search` lists every matching text.
    """

    __slots__ = ("_ascii", "_candidates_by_group", "_ends", "_joined", "_offsets", "_tokens", "_word_bytes")

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
        if "\u00a0" in lowered:  # a no-break space (pasted from a web page or Word) is a space to a reader
            lowered = lowered.replace("\u00a0", " ")
        offsets, ends, position = [], [], 0
        for length in lengths:
            offsets.append(position)
            position += length
            ends.append(position)
            position += 1
        self._offsets, self._ends, self._joined = offsets, ends, lowered
        self._ascii = lowered.isascii()
        self._word_bytes = b""
        self._tokens: frozenset[bytes] | None = None
        self._candidates_by_group: dict[str, list[_Phrase]] = {}

    def text(self, index: int) -> str:
        """Text `index`, lower-cased."""
        return self._joined[self._offsets[index] : self._ends[index]]

    def _candidates(self, group: KeywordGroup) -> list[_Phrase]:
        """The group's phrases whose every word token occurs somewhere in the texts (cached)."""
        found = self._candidates_by_group.get(group.name)
        if found is not None:
            return found
        tokens = self._tokens
        if tokens is None:
            # The token bytes; for an ASCII text (one byte per character), padded with a space at both
            # ends, they also tell word boundaries at a glance (see `_ascii_hits`).
            if self._ascii:
                self._word_bytes = b" " + self._joined.encode().translate(_TOKEN_TABLE) + b" "
                words = self._word_bytes.split()
            else:
                words = word_tokens(self._joined)
            tokens = self._tokens = group.vocabulary.intersection(words)
        by_first = group.by_first_token
        found = [
            entry
            for first in tokens.intersection(by_first)
            for entry in by_first[first]
            if not entry[1] or tokens.issuperset(entry[1])
        ]
        if group.tokenless:
            found += group.tokenless
        self._candidates_by_group[group.name] = found
        return found

    def _whole_word(self, pos: int, entry: _Phrase) -> bool:
        """Whether the phrase found at `pos` has the regex's `\b` on both sides: each neighbour must differ
        in "wordness" from the phrase's own first (last) character; the string's ends count as non-word."""
        end = pos + len(entry[0])
        if self._ascii and entry[2] and entry[3]:
            # ASCII: text character i is padded token byte i + 1, a space unless it is a word character.
            words = self._word_bytes
            return words[pos] == 32 and words[end + 1] == 32 and reports(self._joined, pos, end)
        joined = self._joined
        before = pos > 0 and _is_word(joined[pos - 1])
        after = end < len(joined) and _is_word(joined[end])
        if before == entry[2] or after == entry[3]:
            return False
        return reports(joined, pos, end)

    def first(self, group: KeywordGroup, allowed: Container[int] | None = None) -> tuple[int, int] | None:
        """(text index, offset in that text) of the earliest match in an allowed text, or None.

        Phrase by phrase, and a later phrase is only searched up to the end of the best text found so far:
        the earliest match is usually in the first texts, so most of the text is never scanned.
        """
        joined, offsets, ends = self._joined, self._offsets, self._ends
        best: tuple[int, int] | None = None
        limit = len(joined)
        last = len(offsets) - 1
        for entry in self._candidates(group):
            phrase = entry[0]
            start = 0
            while (pos := joined.find(phrase, start, limit)) != -1:
                index = bisect_right(offsets, pos) - 1
                if allowed is not None and index not in allowed:
                    if index >= last:
                        break
                    start = offsets[index + 1]
                elif pos + len(phrase) <= ends[index] and self._whole_word(pos, entry):
                    if best is None or pos < best[0]:
                        best = (pos, index)
                        limit = ends[index]  # a later phrase only matters if it matches up to this text
                    break
                else:
                    start = pos + 1
        return None if best is None else (best[1], best[0] - offsets[best[1]])

    def last(self, group: KeywordGroup, allowed: Container[int] | None = None) -> tuple[int, int, str] | None:
        """(text index, offset in that text, phrase) of the latest match in an allowed text, or None.

        The mirror of `first`, scanning backwards: a later phrase is only searched after the best match
        found so far. Rarely asked (setbacks), so it need not be as lean as `first`.
        """
        joined, offsets, ends = self._joined, self._offsets, self._ends
        best: tuple[int, int, str] | None = None  # (position in the joined text, text index, phrase)
        floor = 0
        for entry in self._candidates(group):
            phrase = entry[0]
            end = len(joined)
            while (pos := joined.rfind(phrase, floor, end)) != -1:
                index = bisect_right(offsets, pos) - 1
                if allowed is not None and index not in allowed:
                    if index == 0:
                        break
                    end = ends[index - 1]  # on to the texts before this one
                elif pos + len(phrase) <= ends[index] and self._whole_word(pos, entry):
                    best, floor = (pos, index, phrase), pos + 1  # a later phrase must match after this
                    break
                else:
                    end = pos + len(phrase) - 1  # the next occurrence starting before `pos`
        return None if best is None else (best[1], best[0] - offsets[best[1]], best[2])

    def within(self, group: KeywordGroup, index: int) -> int | None:
        """The offset of the group's first match inside text `index`, or None."""
        joined, begin, end = self._joined, self._offsets[index], self._ends[index]
        best: int | None = None
        for entry in self._candidates(group):
            phrase = entry[0]
            start = begin
            while (pos := joined.find(phrase, start, end)) != -1:
                if self._whole_word(pos, entry):
                    best = pos if best is None or pos < best else best
                    break
                start = pos + 1
        return None if best is None else best - begin

    def search(self, group: KeywordGroup) -> dict[int, int]:
        """{text index: offset of its first match} for every text the group matches, in text order."""
        hits: dict[int, int] = {}
        phrases = [entry[0] for entry in self._candidates(group)]
        for index in range(len(self._offsets)):
            text = self.text(index)
            if any(phrase in text for phrase in phrases):
                offset = self.within(group, index)
                if offset is not None:
                    hits[index] = offset
        return hits
