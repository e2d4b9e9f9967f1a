"""Reading one segment into numpy arrays: postings, positions, liveness, lengths, columns, facets.

Postings and positions go through ``_internals`` (whole posting blocks at a time); the
rest uses Whoosh's public reader API.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _internals
from .schema import PositionArray


def segment_id(leaf: Any) -> str | None:
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return segment.segment_id() if segment is not None else None


def leaf_postings(leaf: Any, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(docnums in the segment, term frequencies) of one term, deleted documents left in
    (docnums unsigned 32- or 64-bit integers: add a segment's offset with ``np.add(...,
    dtype=np.int64)``)."""
    if (fieldname, tbytes) not in leaf:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return _internals.block_postings(leaf, fieldname, tbytes)


def leaf_positions(leaf: Any, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(docnums in the segment, positions), one pair per occurrence of one term (32- or
    64-bit integers, as ``leaf_postings``)."""
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if fieldname not in leaf.schema or (fieldname, tbytes) not in leaf:
        return empty
    packed = isinstance(leaf.schema[fieldname].format, PositionArray)
    doc_parts, pos_parts = _internals.block_positions(leaf, fieldname, tbytes, packed=packed)
    if not doc_parts:
        return empty
    return np.concatenate(doc_parts), np.concatenate(pos_parts)


def leaf_live(leaf) -> np.ndarray:
    """Which documents of the segment are not deleted (for its current deletions)."""
    local = np.zeros(leaf.doc_count_all(), dtype=bool)
    local[np.fromiter(leaf.all_doc_ids(), dtype=np.int64)] = True
    return local


def leaf_lengths(leaf, fieldname: str) -> np.ndarray:
    dfl = leaf.doc_field_length
    size = leaf.doc_count_all()
    return np.fromiter((dfl(i, fieldname) for i in range(size)), dtype=np.float32, count=size)


def leaf_column(leaf, fieldname: str, *, translate: bool, positive: bool) -> np.ndarray:
    size = leaf.doc_count_all()
    if not size or fieldname not in leaf.schema:
        return np.zeros(size, dtype=np.int64)
    column = leaf.column_reader(fieldname, translate=translate)
    if positive:
        return np.fromiter(((v if v and v > 0 else 0) for v in column), dtype=np.int64, count=size)
    return np.fromiter((v or 0 for v in column), dtype=np.int64, count=size)


def leaf_facet(leaf, fieldname: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(values, docnums in the segment, value codes) for every (document, value) pair."""
    values: list[str] = []
    docs: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    if fieldname in leaf.schema:
        for tbytes in leaf.lexicon(fieldname):
            value = tbytes.decode("utf-8")
            if not value:
                continue
            ids, _ = leaf_postings(leaf, fieldname, tbytes)
            docs.append(ids.astype(np.int32))
            codes.append(np.full(len(ids), len(values), dtype=np.int32))
            values.append(value)
    if not docs:
        return values, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32)
    # int32: a facet holds a pair per document and value, kept for every segment
    return values, np.concatenate(docs), np.concatenate(codes)
