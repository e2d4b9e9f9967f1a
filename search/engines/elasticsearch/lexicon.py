"""The index's own word list, kept in a small companion index and looked up by substring.

This Elasticsearch has no "terms containing" lookup on analysed text (and no ngram filter
in its minimal distribution). A ``terms`` aggregation with a regular expression works but
reads every word of every document (≈ 0.3 s per needle at 10 000 articles), so each
distinct word of a field is also one small document of ``<index>__words``: the word, its
characters as whitespace-separated tokens (``chars``: a substring is a ``match_phrase`` of
characters, an inverted-index lookup) and its Latin parts (``parts``: cve-2024-3094 →
cve, 2024, 3094; apt28 → apt). Writes add the words they bring (``word_actions``); words of
deleted articles stay and only make a sub-word query a little wider. When more than
``EXPANSION_LIMIT`` words contain a needle, the most frequent are kept, counted by a ``terms``
aggregation on the main index's keyword twin (``mapping.words_field``) limited to them.

Every lookup a search needs goes to the server in one ``msearch``, and answers are kept for
a few seconds per process.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from search.engines.spans import span_pieces, span_ways
from zhtext.analysis import ALNUM_PART_RE

from .mapping import words_field

# Words a sub-word query may expand to (as the Whoosh engine): the most frequent are kept.
EXPANSION_LIMIT = 1000
# Candidate words read per lookup (Elasticsearch's default result window).
CANDIDATES = 10_000
# How long an answer is reused before the index is asked again (new words show up in
# expansions this much later in other processes; exact words are found at once).
CACHE_SECONDS = 10.0
CACHE_ENTRIES = 4096
# Words this process remembers having written to the word index (then forgets them all).
KNOWN_WORDS = 1_000_000

WORDS_INDEX_MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "field": {"type": "keyword"},
        "word": {"type": "keyword"},
        "chars": {"type": "text", "analyzer": "whitespace", "norms": False},
        "parts": {"type": "keyword"},
    },
}

_CJK_CHAR_RE = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Names with a number glued on (apt28, windows11): the name alone finds them.
_NAME_NUMBER_RE = re.compile(r"^([a-z]{2,})\d+$")

Key = tuple[str, str, str]


def words_index_name(index_name: str) -> str:
    return f"{index_name}__words"


def word_parts(word: str) -> list[str]:
    """The Latin parts a word is found by (``TermLexicon.add`` of the Whoosh engine)."""
    out: set[str] = set()
    parts = ALNUM_PART_RE.findall(word)
    if parts and (len(parts) > 1 or parts[0] != word):
        out.update(parts)
    named = _NAME_NUMBER_RE.match(word)
    if named:
        out.add(named.group(1))
    return sorted(out)


def word_id(fieldname: str, word: str) -> str:
    return hashlib.sha1(f"{fieldname}\x1f{word}".encode()).hexdigest()


def word_document(fieldname: str, word: str) -> dict[str, Any]:
    return {"field": fieldname, "word": word, "chars": " ".join(word), "parts": word_parts(word)}


def term_contains(term: str, needle: str) -> bool:
    """Whether the indexed word ``term`` contains ``needle`` the way the Whoosh engine's
    ``TermLexicon.containing`` means it: CJK text anywhere inside, Latin text as a whole
    part (cve-2024-3094 has 2024, not 202) or as the name of a name-number (apt28)."""
    if term == needle:
        return False
    if _CJK_CHAR_RE.search(needle):
        return needle in term
    return needle in word_parts(term)


def _lookup_query(fieldname: str, needle: str) -> dict:
    """Words of ``fieldname`` containing ``needle`` (CJK: as characters in a row; else a part)."""
    if _CJK_CHAR_RE.search(needle):
        found = {"match_phrase": {"chars": " ".join(needle)}}
    else:
        found = {"term": {"parts": needle}}
    return {"bool": {"filter": [{"term": {"field": fieldname}}, found]}}


class Lexicon:
    """Expansions and span pieces of one index, fetched in batches and kept briefly."""

    def __init__(self, *, msearch: Callable[[list[dict]], list[dict]], main_search: Callable[[dict], dict]):
        # ``msearch(bodies)``: one search of the word index per body, answers in order;
        # ``main_search(body)``: one search of the main index
        self._msearch = msearch
        self._main_search = main_search
        self._cache: dict[Key, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()
        self._known: set[str] = set()

    def clear(self) -> None:
        """The index is gone or new: forget everything."""
        with self._lock:
            self._cache.clear()
            self._known.clear()

    def answers_forget(self) -> None:
        """This process wrote: its next lookups ask the index again."""
        with self._lock:
            self._cache.clear()

    # --- writing -----------------------------------------------------------------------

    def word_actions(self, *, index_name: str, words: Iterable[tuple[str, str]]) -> list[dict]:
        """Bulk ``create`` actions for the (field, word) pairs not written by this process yet
        (an existing word answers 409, which the writer ignores)."""
        actions: list[dict] = []
        with self._lock:
            if len(self._known) > KNOWN_WORDS:
                self._known.clear()
            for fieldname, word in words:
                ident = word_id(fieldname, word)
                if ident in self._known:
                    continue
                self._known.add(ident)
                actions += [{"create": {"_index": index_name, "_id": ident}}, word_document(fieldname, word)]
        return actions

    def forget_written(self) -> None:
        """The word index was lost or refused writes: write every word again next time."""
        with self._lock:
            self._known.clear()

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
        """Ask the word index, in one request, every lookup not answered recently."""
        wanted: dict[Key, dict] = {}

        def want(key: Key, body: dict) -> None:
            if key not in wanted and self._get(key) is None:
                wanted[key] = body

        for fieldname, needle in expansions:
            if needle:
                want(("contains", fieldname, needle), _words_body(_lookup_query(fieldname, needle)))
        for fieldname, needle in spans:
            heads, tails, middles = span_pieces(needle)
            for piece in heads:
                want(("ending", fieldname, piece), _words_body(_lookup_query(fieldname, piece)))
            for piece in tails:
                want(("starting", fieldname, piece), _words_body(_lookup_query(fieldname, piece)))
            if middles:
                query = {"bool": {"filter": [{"term": {"field": fieldname}}, {"terms": {"word": middles}}]}}
                want(("words", fieldname, needle), _words_body(query, size=len(middles)))
        if not wanted:
            return
        keys = list(wanted)
        answers = self._msearch([wanted[key] for key in keys])
        found: dict[Key, list[str]] = {}
        for (kind, fieldname, needle), answer in zip(keys, answers, strict=True):
            if answer.get("error"):
                raise RuntimeError(f"word index lookup failed: {answer['error']}")
            words = [hit["_source"]["word"] for hit in answer.get("hits", {}).get("hits", ())]
            if kind == "contains":
                words = self._most_frequent(fieldname, [w for w in words if term_contains(w, needle)])
            elif kind == "ending":
                words = [w for w in words if w.endswith(needle)]
            elif kind == "starting":
                words = [w for w in words if w.startswith(needle)]
            found[(kind, fieldname, needle)] = words
        now = time.monotonic()
        with self._lock:
            if len(self._cache) + len(found) > CACHE_ENTRIES:
                self._cache.clear()
            for key, words in found.items():
                self._cache[key] = (now, words)

    def _most_frequent(self, fieldname: str, words: list[str]) -> list[str]:
        if len(words) <= EXPANSION_LIMIT:
            return sorted(words)
        terms = {
            "terms": {
                "field": words_field(fieldname),
                "include": words,
                "size": EXPANSION_LIMIT,
                # every candidate's count from every shard: the most frequent, exactly
                "shard_size": len(words),
                "order": [{"_count": "desc"}, {"_key": "asc"}],
            }
        }
        answer = self._main_search({"size": 0, "aggs": {"top": terms}})
        return [b["key"] for b in answer.get("aggregations", {}).get("top", {}).get("buckets", ())]

    def _get(self, key: Key) -> list[str] | None:
        with self._lock:
            found = self._cache.get(key)
        if found is None or time.monotonic() - found[0] > CACHE_SECONDS:
            return None
        return found[1]


def _words_body(query: dict, *, size: int = CANDIDATES) -> dict:
    return {"query": query, "size": max(size, 1), "_source": ["word"], "track_total_hits": False}
