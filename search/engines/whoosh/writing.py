"""Writing documents: one writer and one commit per batch.

Whoosh allows one writer at a time; the index worker is the only one in production. The
writer is ``_internals.FastSegmentWriter`` (the same files, written term by term); a commit
merges only a small group of segments (``merging.commit_policy``), bigger merges run beside
the writer (``merging.merge_step``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from haystack.constants import ID
from haystack.exceptions import SkipDocument

from zhtext.analysis import AnalysedText

from . import _internals, merging
from .schema import FACET_FIELDS, LIST_FIELDS


def native_postings_available() -> bool:
    """Whether the index writer's C module (``_postings.c``) is built (``manage.py check``)."""
    return _internals.native_postings_available()


def writer_open(index: Any, *, timeout: float) -> Any:
    """The index's writer (waits up to ``timeout`` seconds for the write lock)."""
    return _internals.FastSegmentWriter(
        index, timeout=timeout, protected=merging.writer_protecting(index.storage)
    )


def document_prepare(*, index: Any, obj: Any, from_python: Callable[[Any], Any]) -> dict | None:
    """The Whoosh document of ``obj`` (None when the index skips it)."""
    try:
        doc = index.full_prepare(obj)
    except SkipDocument:
        return None
    out = {}
    for key, value in doc.items():
        if key == "boost" or value is None:
            continue
        if key in LIST_FIELDS:
            out[key] = [str(v) for v in value]
        elif isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            out[key] = datetime.datetime(value.year, value.month, value.day)
        elif isinstance(value, datetime.datetime):
            out[key] = value.replace(tzinfo=None)
        elif isinstance(value, str) and value == "" and key in FACET_FIELDS:
            continue
        elif isinstance(value, AnalysedText):
            out[key] = value  # WordField indexes its terms as they are
        else:
            out[key] = from_python(value)
    return out


def documents_write(
    *, writer: Any, searcher_for: Callable[[Any], Any], docs: list[dict], remove_ids: list[str]
):
    """Replace ``docs`` and delete ``remove_ids`` in ``writer``, then commit.

    Whoosh's ``update_document`` opens a reader over every segment for each document,
    which makes a bulk build quadratic in the number of segments; deleting the whole
    batch's old versions through one searcher, then adding, does the same in one pass.
    ``searcher_for(writer)`` gives a searcher reading exactly the writer's segments, or
    None to use one of the writer's own.
    """
    try:
        searcher = searcher_for(writer)
        owned = searcher is None
        if owned:
            searcher = writer.searcher()
        try:
            for ident in [*remove_ids, *(doc[ID] for doc in docs)]:
                writer.delete_by_term(ID, ident, searcher=searcher)
        finally:
            if owned:
                searcher.close()
        for doc in docs:
            writer.add_document(**doc)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=merging.commit_policy)


def searcher_matching(*, searcher: Any, writer: Any) -> Any | None:
    """``searcher`` if it reads the writer's segments with the same deletions, else None.

    The long-lived searcher then finds the old versions; a searcher of the writer's own
    would open (and copy into memory) every segment for each commit.
    """
    ours = [leaf.segment() for leaf, _offset in searcher.reader().leaf_readers()]
    ours = [segment for segment in ours if segment is not None]  # an empty index's reader
    if [(s.segment_id(), s.deleted_count()) for s in ours] != [
        (s.segment_id(), s.deleted_count()) for s in writer.segments
    ]:
        return None
    return searcher
