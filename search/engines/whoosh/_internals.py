"""The only module that touches Whoosh 2.7.4's private internals (names starting with ``_``).

Two things need them, both for speed:

* reading a term's postings a whole block at a time (the W3 codec keeps each block's
  document ids, weights and values as arrays) instead of one document at a time through
  the public matcher API;
* renewing a searcher after a commit while keeping the readers of unchanged segments
  (``Searcher.refresh`` in 2.7.4 reopens every segment);
* opening indexes whose pickled schema names field classes where they used to live
  (``whoosh.index`` unpickles it with a module-level ``pickle``).

Everything here is behind the small functions below. When a Whoosh release changes the
matcher internals, ``block_postings``/``block_positions`` fall back to the public,
per-document path and count it in ``fallbacks``; ``search/tests`` fails when that
happens on the pinned release, so a silent slowdown cannot ship.
"""

from __future__ import annotations

import copy
import io
import itertools
import pickle
import threading
from typing import Any

import numpy as np
import whoosh.index


class _Counter:
    """How often the per-document path was taken instead of the block path (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


fallbacks = _Counter()


def _raw_matcher(leaf: Any, fieldname: str, tbytes: bytes) -> Any:
    """The term's postings in ``leaf`` with deleted documents left in (``live`` drops them)."""
    m = leaf.postings(fieldname, tbytes)
    while not _has_blocks(m) and hasattr(m, "child"):
        m = m.child
    return m


def _has_blocks(m: Any) -> bool:
    return all(hasattr(m, name) for name in ("_read_ids", "_read_weights", "_read_values", "_next_block"))


def block_postings(leaf: Any, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(docnums in the segment, term frequencies) of one term present in ``leaf``."""
    m = _raw_matcher(leaf, fieldname, tbytes)
    if not _has_blocks(m):
        fallbacks.add()
        ids: list[int] = []
        weights: list[float] = []
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            m.next()
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32)
    ids_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    while m.is_active():
        m._read_ids()
        m._read_weights()
        ids_parts.append(np.asarray(m._ids, dtype=np.int64))
        weight_parts.append(np.asarray(m._weights, dtype=np.float32))
        m._next_block()
    if not ids_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(ids_parts), np.concatenate(weight_parts)


def block_positions(
    leaf: Any, fieldname: str, tbytes: bytes, *, packed: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(docnum parts, position parts) of one term present in ``leaf``, one pair per occurrence.

    ``packed``: the field stores positions as little-endian uint32 arrays, so a block's
    positions are one ``numpy.frombuffer``; otherwise the field's format decodes each value.
    """
    fmt = leaf.schema[fieldname].format
    m = _raw_matcher(leaf, fieldname, tbytes)
    doc_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    if not _has_blocks(m):
        fallbacks.add()
        while m.is_active():
            value = list(m.value_as("positions"))
            doc_parts.append(np.full(len(value), m.id(), dtype=np.int64))
            pos_parts.append(np.asarray(value, dtype=np.int64))
            m.next()
        return doc_parts, pos_parts
    while m.is_active():
        m._read_ids()
        m._read_values()
        ids = np.asarray(m._ids, dtype=np.int64)
        if packed:
            counts = np.fromiter(map(len, m._values), dtype=np.int64, count=len(ids)) // 4
            pos_parts.append(np.frombuffer(b"".join(m._values), dtype="<u4").astype(np.int64))
        else:
            decoded = [fmt.decode_positions(v) for v in m._values]
            counts = np.fromiter(map(len, decoded), dtype=np.int64, count=len(ids))
            pos_parts.append(np.fromiter(itertools.chain.from_iterable(decoded), dtype=np.int64))
        doc_parts.append(np.repeat(ids, counts))
        m._next_block()
    return doc_parts, pos_parts


def reader_with_deletions(leaf: Any, *, segment: Any) -> tuple[Any, Any]:
    """A copy of a segment reader that shares its opened term and posting files but reads
    ``segment``'s (newer) deletion list; also the per-document reader it replaces, to close
    once no query uses it any more."""
    renewed = copy.copy(leaf)
    renewed._segment = segment
    renewed._perdoc = leaf.codec().per_document_reader(leaf.storage(), segment)
    return renewed, leaf._perdoc


def reader_generation_set(leaf: Any, *, generation: int) -> None:
    """Mark a kept segment reader as belonging to the index generation ``generation``."""
    leaf._gen = generation


# --- schemas pickled under older class paths ---------------------------------------------

# An index stores its schema pickled, classes named by module path. Indexes written before
# the engine package named its field classes where they lived then.
LEGACY_CLASS_PATHS = {
    ("search.backends", "WordField"): "search.engines.whoosh.schema",
    ("search.backends", "PositionArray"): "search.engines.whoosh.schema",
    ("search.backends", "FacetList"): "search.engines.whoosh.schema",
    ("search.analysis", "WordTokenizer"): "search.engines.whoosh.analysis",
}


class _SchemaUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(LEGACY_CLASS_PATHS.get((module, name), module), name)


class _PickleReadingLegacyPaths:
    """Stands in for the ``pickle`` module inside ``whoosh.index`` (which reads the schema
    with ``pickle.loads``): the same, except that old class paths resolve."""

    def __getattr__(self, name: str) -> Any:
        return getattr(pickle, name)

    @staticmethod
    def loads(data: bytes) -> Any:
        return _SchemaUnpickler(io.BytesIO(data)).load()


def schema_legacy_paths_install() -> None:
    """Let ``whoosh.index`` open indexes whose schema names ``LEGACY_CLASS_PATHS``."""
    if not isinstance(whoosh.index.pickle, _PickleReadingLegacyPaths):
        whoosh.index.pickle = _PickleReadingLegacyPaths()
