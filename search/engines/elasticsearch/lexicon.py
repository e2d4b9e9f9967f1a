"""The index's own word list, asked through ``terms`` aggregations.

This Elasticsearch has no "terms containing" lookup on analysed text (and no ngram filter
in its minimal distribution), so the distinct words of each document are also kept in a
keyword field (``mapping.words_field``) and a part of a word (税 → 增值税, 心理 → 心理健康)
is expanded with a ``terms`` aggregation whose ``include`` is a regular expression over
that field's global ordinals, most frequent words first. The words a run may span
(``search.engines.spans``) are asked the same way. Every lookup a search needs goes to the
server in one request, and answers are kept for a few seconds per process.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from typing import Any

from search.engines.spans import SPAN_ALTERNATIVES, span_pieces, span_ways
from zhtext.analysis import ALNUM_PART_RE

from .mapping import words_field

# Words a sub-word query may expand to (as the Whoosh engine): the most frequent are kept.
EXPANSION_LIMIT = 1000
# How long an expansion is reused before the index is asked again (new words show up
# in expansions this much later; exact words are found at once).
CACHE_SECONDS = 10.0
CACHE_ENTRIES = 4096

_CJK_CHAR_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Names with a number glued on (apt28, windows11): the name alone finds them.
_NAME_NUMBER_RE = re.compile(r"^([a-z]{2,})\d+$")
_PLAIN_CHAR_RE = re.compile(r"[0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def regex_escape(text: str) -> str:
    """``text`` as a literal in Lucene's regular expression syntax."""
    return "".join(ch if _PLAIN_CHAR_RE.match(ch) else "\\" + ch for ch in text)


def term_contains(term: str, needle: str) -> bool:
    """Whether the indexed word ``term`` contains ``needle`` the way the Whoosh engine's
    ``TermLexicon.containing`` means it: CJK text anywhere inside, Latin text as a whole
    part (cve-2024-3094 has 2024, not 202) or as the name of a name-number (apt28)."""
    if term == needle:
        return False
    if _CJK_CHAR_RE.search(needle):
        return needle in term
    parts = ALNUM_PART_RE.findall(term)
    if parts and (len(parts) > 1 or parts[0] != term) and needle in parts:
        return True
    named = _NAME_NUMBER_RE.match(term)
    return bool(named and named.group(1) == needle)


def _contains_pattern(needle: str) -> str:
    literal = regex_escape(needle)
    if _CJK_CHAR_RE.search(needle):
        return f".*{literal}.*"
    # a whole Latin part, or a name with a number glued on; ``term_contains`` has the last word
    return f"(.*[^0-9a-z])?{literal}([^0-9a-z].*)?|{literal}[0-9]+"


class Lexicon:
    """Expansions and span pieces of one index, fetched in batches and kept briefly."""

    def __init__(self, *, search) -> None:
        # ``search(body)``: one size-0 request against the index, returning aggregations
        self._search = search
        self._cache: dict[tuple[str, str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    # --- the two questions -------------------------------------------------------------

    def containing(self, *, fieldname: str, needle: str) -> list[str]:
        self.prefetch(expansions=[(fieldname, needle)], spans=[])
        return self._get(("contains", fieldname, needle)) or []

    def spanning(self, *, fieldname: str, needle: str) -> list[list[list[str]]]:
        self.prefetch(expansions=[], spans=[(fieldname, needle)])
        heads, tails, _ = span_pieces(needle)
        ending = {p: self._get(("ending", fieldname, p)) or [] for p in heads}
        starting = {p: self._get(("starting", fieldname, p)) or [] for p in tails}
        words = set(self._get(("words", fieldname, needle)) or ())
        return span_ways(
            needle,
            ending=lambda piece: ending.get(piece, []),
            starting=lambda piece: starting.get(piece, []),
            is_word=words.__contains__,
        )

    # --- fetching ----------------------------------------------------------------------

    def prefetch(self, *, expansions: Iterable[tuple[str, str]], spans: Iterable[tuple[str, str]]) -> None:
        """Ask the index, in one request, every lookup not answered recently."""
        aggs: dict[str, dict] = {}
        keys: dict[str, tuple[str, str, str]] = {}

        def want(key: tuple[str, str, str], agg: dict) -> None:
            if self._get(key) is None and key not in keys.values():
                name = f"q{len(keys)}"
                keys[name] = key
                aggs[name] = agg

        for fieldname, needle in expansions:
            if needle:
                want(
                    ("contains", fieldname, needle),
                    _terms(fieldname, include=_contains_pattern(needle), size=EXPANSION_LIMIT + 1),
                )
        for fieldname, needle in spans:
            heads, tails, middles = span_pieces(needle)
            for piece in heads:
                include = f".*{regex_escape(piece)}"
                want(
                    ("ending", fieldname, piece),
                    _terms(fieldname, include=include, size=SPAN_ALTERNATIVES + 1),
                )
            for piece in tails:
                include = f"{regex_escape(piece)}.*"
                want(
                    ("starting", fieldname, piece),
                    _terms(fieldname, include=include, size=SPAN_ALTERNATIVES + 1),
                )
            if middles:
                want(("words", fieldname, needle), _terms(fieldname, include=middles, size=len(middles)))
        if not aggs:
            return
        answered = self._search({"size": 0, "aggs": aggs})
        now = time.monotonic()
        with self._lock:
            if len(self._cache) + len(keys) > CACHE_ENTRIES:
                self._cache.clear()
            for name, key in keys.items():
                found = [b["key"] for b in answered.get(name, {}).get("buckets", ())]
                if key[0] == "contains":
                    found = [t for t in found if term_contains(t, key[2])][:EXPANSION_LIMIT]
                self._cache[key] = (now, found)

    def _get(self, key: tuple[str, str, str]) -> list[str] | None:
        with self._lock:
            found = self._cache.get(key)
        if found is None or time.monotonic() - found[0] > CACHE_SECONDS:
            return None
        return found[1]


def _terms(fieldname: str, *, include, size: int) -> dict:
    return {
        "terms": {
            "field": words_field(fieldname),
            "include": include,
            "size": max(size, 1),
            "order": [{"_count": "desc"}, {"_key": "asc"}],
        }
    }
