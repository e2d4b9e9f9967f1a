"""``IndexView``: matching and BM25 scoring with numpy over one searcher generation.

Matching and scoring work on whole posting blocks rather than one document at a time
through Whoosh's matcher tree, so a query that matches most of the index costs about
what a rare one does. Phrases look up occurrence keys (document << 32 | position) by
binary search. Facet counts, ordering and story collapse are in ``ranking``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from haystack.constants import DJANGO_ID
from whoosh import query
from whoosh.util.times import datetime_to_long

from .analysis import TermLexicon
from .caches import BytesLRU, SegmentArrays
from .ranking import Ranking
from .segments import leaf_lengths, leaf_live, leaf_positions, leaf_postings, segment_id

# Terms a sub-word query may expand to; beyond that the most frequent terms are kept.
EXPANSION_LIMIT = 1000
# Terms whose merged (all-segment) postings a generation keeps at hand.
VIEW_POSTINGS_ENTRIES = 20000
# Occurrence keys (phrase matching) a generation keeps at hand, least recently used first out.
VIEW_OCCURRENCES_BYTES = 256 * 1024 * 1024
# BM25 parameters (Whoosh's defaults).
BM25_B = 0.75
BM25_K1 = 1.2


class IndexView(Ranking):
    """Numpy arrays over one searcher generation: liveness, lengths, facets, dates.

    Each array is the concatenation of per-segment arrays kept in ``SegmentArrays``
    across generations; this view adds what depends on the whole generation (the
    document offsets, deletions, average lengths) and is built lazily, once.
    """

    def __init__(self, searcher, *, store: SegmentArrays | None = None) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self.store = store if store is not None else SegmentArrays()
        self.leaves = [(leaf, offset, segment_id(leaf)) for leaf, offset in self.reader.leaf_readers()]
        self._lengths: dict[str, tuple[np.ndarray, float]] = {}
        self._facets: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
        self._published: np.ndarray | None = None
        self._stories: np.ndarray | None = None
        self._postings: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._occurrences = BytesLRU(budget_bytes=VIEW_OCCURRENCES_BYTES)
        live = np.ones(self.size, dtype=bool)
        for leaf, offset, segid in self.leaves:
            if leaf.has_deletions():
                local = self._segment(
                    segid, ("live", leaf.segment().deleted_count()), lambda leaf=leaf: leaf_live(leaf)
                )
                live[offset : offset + len(local)] = local
        self.live = live

    def _segment(self, segid: str | None, key: tuple, build: Callable[[], Any]) -> Any:
        return build() if segid is None else self.store.get((segid, *key), build)

    def _concat(self, kind: str, fieldname: str, build, dtype) -> np.ndarray:
        parts = [
            self._segment(segid, (kind, fieldname), lambda leaf=leaf: build(leaf))
            for leaf, _offset, segid in self.leaves
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    # --- terms ---------------------------------------------------------------------

    def lexicon(self, fieldname: str) -> TermLexicon:
        return self.store.lexicon(fieldname=fieldname, leaves=self.leaves)

    def terms_containing(self, *, fieldname: str, needle: str) -> list[str]:
        found = self.lexicon(fieldname).containing(needle)
        if len(found) > EXPANSION_LIMIT:
            df = self.reader.doc_frequency
            found = sorted(found, key=lambda t: -df(fieldname, t))[:EXPANSION_LIMIT]
        return found

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, term frequencies) of one term over all segments."""
        key = (fieldname, text)
        found = self._postings.get(key)
        if found is not None:
            return found
        tbytes = text.encode("utf-8") if isinstance(text, str) else text
        ids_parts: list[np.ndarray] = []
        weight_parts: list[np.ndarray] = []
        for leaf, offset, segid in self.leaves:
            ids, weights = self._segment(
                segid,
                ("postings", fieldname, tbytes),
                lambda leaf=leaf: leaf_postings(leaf, fieldname, tbytes),
            )
            if len(ids):
                ids_parts.append(np.add(ids, offset, dtype=np.int64))
                weight_parts.append(weights)
        if ids_parts:
            found = (np.concatenate(ids_parts), np.concatenate(weight_parts))
        else:
            found = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if len(self._postings) < VIEW_POSTINGS_ENTRIES:
            self._postings[key] = found
        return found

    def lengths(self, fieldname: str) -> tuple[np.ndarray, float]:
        found = self._lengths.get(fieldname)
        if found is None:
            arr = self._concat("lengths", fieldname, lambda leaf: leaf_lengths(leaf, fieldname), np.float32)
            live = arr[self.live]
            avg = float(live.mean()) if len(live) and live.mean() > 0 else 1.0
            found = (arr, avg)
            self._lengths[fieldname] = found
        return found

    # --- evaluation ----------------------------------------------------------------

    def evaluate(self, q: query.Query, *, scored: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(match mask, BM25 scores) of a query built from Term/Phrase/And/Or/AndNot."""
        size = self.size
        if isinstance(q, query.Term):
            mask = np.zeros(size, dtype=bool)
            ids, tf = self.postings(q.fieldname, q.text)
            mask[ids] = True
            if not scored:
                return mask, None
            score = np.zeros(size, dtype=np.float32)
            if len(ids):
                score[ids] = self._bm25(q.fieldname, ids, tf) * q.boost
            return mask, score
        if isinstance(q, (query.Phrase, query.Sequence)):
            if isinstance(q, query.Phrase):
                subs = [query.Term(q.fieldname, w, boost=q.boost) for w in q.words]
            else:
                subs = q.subqueries
            mask = np.zeros(size, dtype=bool)
            ids, counts = self.phrase_counts(subs)
            if not len(ids):
                return mask, (np.zeros(size, dtype=np.float32) if scored else None)
            mask[ids] = True
            if not scored:
                return mask, None
            # BM25 of the phrase itself: how often the words occur in a row and how rare
            # that is, not the frequencies of its words one by one (an article saying
            # 网络 fifty times and 网络钓鱼 once is not about phishing).
            tf = counts.astype(np.float32)
            fieldname = getattr(q, "fieldname", None) or _query_fieldname(subs[0])
            boost = float(np.mean([_query_boost(sub) for sub in subs]))
            idf_words = sum(self._idf(_query_fieldname(sub), sub) for sub in subs)
            score = np.zeros(size, dtype=np.float32)
            score[ids] = self._bm25(fieldname, ids, tf, idf=idf_words) * boost
            return mask, score
        if isinstance(q, query.Or):
            mask = np.zeros(size, dtype=bool)
            score = np.zeros(size, dtype=np.float32) if scored else None
            for sub in q.subqueries:
                if isinstance(sub, query.Term):
                    # in place: a sub-word query can be an OR of a thousand terms
                    ids, tf = self.postings(sub.fieldname, sub.text)
                    mask[ids] = True
                    if scored and len(ids):
                        score[ids] += self._bm25(sub.fieldname, ids, tf) * sub.boost
                    continue
                m, sc = self.evaluate(sub, scored=scored)
                mask |= m
                if scored:
                    score += sc
            return mask, score
        if isinstance(q, query.And):
            mask = np.ones(size, dtype=bool)
            score = np.zeros(size, dtype=np.float32) if scored else None
            for sub in q.subqueries:
                m, sc = self.evaluate(sub, scored=scored)
                mask &= m
                if scored:
                    score += sc
            return mask, (score * mask if scored else None)
        if isinstance(q, query.AndNot):
            mask, score = self.evaluate(q.a, scored=scored)
            neg, _ = self.evaluate(q.b, scored=False)
            mask = mask & ~neg
            return mask, (score * mask if scored else None)
        if isinstance(q, query.DateRange) and q.fieldname == "published":
            return self._date_range(q), None
        if isinstance(q, query.Every):
            return self.live.copy(), (np.ones(size, dtype=np.float32) if scored else None)
        if q is query.NullQuery or isinstance(q, type(query.NullQuery)):
            return np.zeros(size, dtype=bool), (np.zeros(size, dtype=np.float32) if scored else None)
        # anything else: Whoosh's own matcher (no scores beyond presence)
        mask = np.zeros(size, dtype=bool)
        hits = list(self.searcher.docs_for_query(q))
        if hits:
            mask[np.asarray(hits, dtype=np.int64)] = True
        return mask, (mask.astype(np.float32) if scored else None)

    def _idf(self, fieldname: str, sub: query.Query) -> float:
        """Whoosh's idf of a term, or of the rarest term of an OR of terms."""
        terms = [sub] if isinstance(sub, query.Term) else list(getattr(sub, "subqueries", ()))
        dfs = [len(self.postings(t.fieldname, t.text)[0]) for t in terms if isinstance(t, query.Term)]
        df = min(dfs) if dfs else 0
        return float(np.log(self.size / (df + 1)) + 1.0)

    def phrase_counts(self, subs: list[query.Query]) -> tuple[np.ndarray, np.ndarray]:
        """Documents where the ``subs`` (terms, or ORs of terms) occur in a row:
        (docnums, how many times), both sorted by docnum.

        Every occurrence of a term is one sorted int64 key, document << 32 | position.
        The phrase starts are taken from the step with the fewest occurrences and looked
        up in the other steps' keys by binary search, so a phrase of common words costs
        about the size of its rarest word, not of its most common one.
        """
        steps = [self._step_keys(sub) for sub in subs]
        sizes = [sum(len(keys) for keys in step) for step in steps]
        anchor = int(np.argmin(sizes))
        if not sizes[anchor]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        found = steps[anchor]
        keys = found[0] if len(found) == 1 else np.concatenate(found)
        # a phrase that would start before the text's first word
        keys = keys[(keys & 0xFFFFFFFF) >= anchor]
        starts = keys - anchor
        for offset, step in enumerate(steps):
            if offset == anchor or not len(starts):
                continue
            wanted = starts + offset
            present = np.zeros(len(wanted), dtype=bool)
            for keys in step:
                if len(keys):
                    at = np.searchsorted(keys, wanted)
                    at[at == len(keys)] = 0
                    present |= keys[at] == wanted
            starts = starts[present]
        if not len(starts):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.unique(starts >> 32, return_counts=True)

    def _step_keys(self, sub: query.Query) -> list[np.ndarray]:
        terms = [sub] if isinstance(sub, query.Term) else list(getattr(sub, "subqueries", ()))
        return [self.occurrences(t.fieldname, t.text) for t in terms if isinstance(t, query.Term)]

    def occurrences(self, fieldname: str, text: str) -> np.ndarray:
        """Sorted keys (document << 32 | position) of every occurrence of one term."""
        key = (fieldname, text)
        found = self._occurrences.get(key)
        if found is None:
            docs, positions = self.positions(fieldname, text)
            found = (docs << 32) | positions
            if len(found) > 1 and not (found[1:] > found[:-1]).all():
                found = np.unique(found)
            self._occurrences.put(key, found)
        return found

    def positions(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, positions) of every occurrence of one term, one pair per occurrence.

        Kept per segment: a phrase of common words then costs a few array
        intersections, not a decode per document.
        """
        tbytes = text.encode("utf-8")
        doc_parts: list[np.ndarray] = []
        pos_parts: list[np.ndarray] = []
        for leaf, offset, segid in self.leaves:
            docs, positions = self._segment(
                segid,
                ("positions", fieldname, tbytes),
                lambda leaf=leaf: leaf_positions(leaf, fieldname, tbytes),
            )
            if len(docs):
                doc_parts.append(np.add(docs, offset, dtype=np.int64))
                pos_parts.append(positions.astype(np.int64))
        if not doc_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if len(doc_parts) == 1:
            return doc_parts[0], pos_parts[0]
        return np.concatenate(doc_parts), np.concatenate(pos_parts)

    def _bm25(
        self, fieldname: str, ids: np.ndarray, tf: np.ndarray, *, idf: float | None = None
    ) -> np.ndarray:
        lengths, avg = self.lengths(fieldname)
        if idf is None:
            # Whoosh's idf: log(N / (df + 1)) + 1
            idf = np.log(self.size / (len(ids) + 1)) + 1.0
        norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths[ids] / avg)
        return (idf * tf * (BM25_K1 + 1) / (tf + norm)).astype(np.float32)

    def _date_range(self, q: query.DateRange) -> np.ndarray:
        values = self.published()
        mask = values > 0
        if q.startdate is not None:
            mask &= values >= datetime_to_long(q.startdate)
        if q.enddate is not None:
            mask &= values <= datetime_to_long(q.enddate)
        return mask

    def django_ids(self, *, docnums: list[int]) -> list[int]:
        stored = self.reader.stored_fields
        return [int(stored(d)[DJANGO_ID]) for d in docnums]


def _query_fieldname(q: query.Query) -> str:
    if isinstance(q, query.Term):
        return q.fieldname
    for sub in getattr(q, "subqueries", ()):
        return _query_fieldname(sub)
    return ""


def _query_boost(q: query.Query) -> float:
    if isinstance(q, query.Term):
        return q.boost
    boosts = [_query_boost(sub) for sub in getattr(q, "subqueries", ())]
    return max(boosts) if boosts else 1.0
