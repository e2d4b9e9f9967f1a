"""Caches of arrays read from the index: a byte-budgeted LRU and the per-segment store."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings

from .analysis import TermLexicon

# Arrays read from segments (postings, positions, lengths, facets), kept across generations;
# least recently used first out.
SEGMENT_CACHE_BYTES = 128 * 1024 * 1024


class BytesLRU:
    """A mapping that forgets its least recently used entries beyond ``budget_bytes``
    (numpy arrays and tuples/lists of them; the newest entry is always kept)."""

    def __init__(self, *, budget_bytes: int) -> None:
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._sizes: dict[Any, int] = {}
        self._budget = budget_bytes
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def get(self, key: Any) -> Any:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: Any, value: Any) -> None:
        if key in self._items:
            return
        self._items[key] = value
        self._sizes[key] = _nbytes(value)
        self.nbytes += self._sizes[key]
        while self.nbytes > self._budget and len(self._items) > 1:
            old, _ = self._items.popitem(last=False)
            self.nbytes -= self._sizes.pop(old)

    def drop(self, predicate: Callable[[Any], bool]) -> None:
        for key in [k for k in self._items if predicate(k)]:
            del self._items[key]
            self.nbytes -= self._sizes.pop(key)


class SegmentArrays:
    """Arrays read from index segments, kept across index generations.

    A Whoosh segment never changes once written, except for deletions, which
    ``IndexView.live`` applies on top. What was read from a segment therefore stays
    true until a merge replaces it, and after a commit only the new segment has to be
    read: the first query after a commit costs about what any other does.
    Keys start with the segment id; thread-safe (web servers run threads).
    """

    def __init__(self, *, budget_bytes: int = SEGMENT_CACHE_BYTES) -> None:
        self._items = BytesLRU(budget_bytes=budget_bytes)
        self._lock = threading.Lock()
        self._lexicons: dict[str, tuple[TermLexicon, set[str]]] = {}

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._items.get(key)
        if found is None:
            found = build()
            with self._lock:
                self._items.put(key, found)
        return found

    @property
    def nbytes(self) -> int:
        return self._items.nbytes

    def keys(self) -> list[tuple]:
        with self._lock:
            return list(self._items)

    def retain(self, segids: set[str]) -> None:
        """Forget the segments that merges replaced."""
        with self._lock:
            self._items.drop(lambda key: key[0] not in segids)

    def lexicon(self, *, fieldname: str, leaves: list[tuple[Any, int, str | None]]) -> TermLexicon:
        """The field's terms over ``leaves``, adding only segments not seen before.

        Terms of documents deleted and merged away stay listed: they only expand a
        query to a term with no postings.
        """
        with self._lock:
            lexicon, seen = self._lexicons.setdefault(fieldname, (TermLexicon(()), set()))
            for leaf, _offset, segid in leaves:
                if segid is not None and segid in seen:
                    continue
                if fieldname in leaf.schema:
                    lexicon.add(t.decode("utf-8") for t in leaf.lexicon(fieldname))
                if segid is not None:
                    seen.add(segid)
            return lexicon


def segment_arrays() -> SegmentArrays:
    return SegmentArrays(budget_bytes=settings.SEARCH_SEGMENT_CACHE_MB * 1024 * 1024)


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value) + 8 * len(value)
    return 64
