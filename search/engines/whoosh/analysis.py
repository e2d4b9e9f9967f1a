"""Whoosh's side of the text analysis: the tokenizer the word fields use, and the
index's term list searched by substring.

The analysis itself (normalisation, jieba, synonyms) is ``zhtext.analysis``; this module
only adapts it to Whoosh's tokenizer interface and to looking up indexed terms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from whoosh.analysis import Token, Tokenizer

from search.engines.spans import span_ways
from zhtext.analysis import ALNUM_PART_RE, pieces_words, text_normalise

# Same CJK ranges as ``zhtext.analysis``'s tokens.
_CJK_CHAR_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _is_content(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


class WordTokenizer(Tokenizer):
    """Whoosh tokenizer over ``pieces_words``; normalisation happens inside so offsets are exact."""

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self).__name__)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        norm, offsets = text_normalise(value)
        for piece in pieces_words(norm):
            if not _is_content(piece.text):
                continue
            token.text = piece.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[offsets[piece.start] : offsets[piece.end]]
            if positions:
                token.pos = start_pos + piece.pos
            if chars:
                token.startchar = start_char + offsets[piece.start]
                token.endchar = start_char + offsets[piece.end]
            yield token


def word_analyzer() -> WordTokenizer:
    return WordTokenizer()


class TermLexicon:
    """The terms of one index field, looked up by substring.

    The index holds only precise words; a query for part of a word (one character
    such as 税, or 心理 inside 心理健康) is answered by expanding it to the indexed
    words that contain it. Built from the field's term list, segment by segment:
    CJK terms by each of their characters, compound Latin terms (cve-2024-3094,
    〔2024〕1号) by each of their alphanumeric parts.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self._by_char: dict[str, list[str]] = {}
        self._by_part: dict[str, list[str]] = {}
        self._all: set[str] = set()
        self.add(terms)

    def add(self, terms: Iterable[str]) -> None:
        """Add the terms not listed yet (a new segment's)."""
        for term in terms:
            if term in self._all:
                continue
            self._all.add(term)
            if _CJK_CHAR_RE.search(term):
                for ch in set(term):
                    self._by_char.setdefault(ch, []).append(term)
            parts = ALNUM_PART_RE.findall(term)
            if parts and (len(parts) > 1 or parts[0] != term):
                for part in set(parts):
                    self._by_part.setdefault(part, []).append(term)
            # Names with a number glued on (apt28, windows11): the name alone finds them.
            named = _NAME_NUMBER_RE.match(term)
            if named:
                self._by_part.setdefault(named.group(1), []).append(term)

    def containing(self, needle: str) -> list[str]:
        """Indexed terms other than ``needle`` that contain it (CJK) or have it as a part."""
        if not needle:
            return []
        if _CJK_CHAR_RE.search(needle):
            pools = [self._by_char.get(ch, []) for ch in set(needle)]
            pool = min(pools, key=len)
            return [t for t in pool if t != needle and needle in t]
        return [t for t in self._by_part.get(needle, []) if t != needle]

    def spanning(self, needle: str, *, limit: int = 4) -> list[list[list[str]]]:
        """Ways ``needle`` (a CJK run) can stretch over several consecutive indexed words
        (``search.engines.spans.span_ways``)."""
        pool = self._by_char
        return span_ways(
            needle,
            ending=lambda piece: [t for t in pool.get(piece[-1], ()) if t.endswith(piece)],
            starting=lambda piece: [t for t in pool.get(piece[0], ()) if t.startswith(piece)],
            is_word=self._all.__contains__,
            limit=limit,
        )


_NAME_NUMBER_RE = re.compile(r"^([a-z]{2,})\d+$")
