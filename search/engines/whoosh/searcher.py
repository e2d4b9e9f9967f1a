"""The searcher's lifecycle: one long-lived searcher per backend, renewed after commits.

Whoosh's ``Searcher.refresh`` means to reuse the readers of unchanged segments but looks
them up under a key they are not stored under (2.7.4), so after every commit it reopens
every segment, copying each one's term and posting files into memory again. Here a
segment still in the index keeps its reader (with a fresh deletion list when its
deletions changed); only new segments are opened. Readers of segments that merges
removed are closed one renewal later, when no query still uses them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from whoosh import index as whoosh_index
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from . import _internals


def searcher_renew(old: Searcher, *, index: Any, schema: Any, retired: list) -> tuple[Searcher, list]:
    """(a searcher over ``index``'s newest generation, what to close at the next renewal).

    ``retired`` holds what the previous renewal replaced; it is closed here, one renewal
    after it stopped being used by new queries.
    """
    storage = index.storage
    toc = whoosh_index.TOC.read(storage, index.indexname, schema=schema)
    kept = {
        leaf.segment().segment_id(): leaf
        for leaf, _offset in old.reader().leaf_readers()
        if isinstance(leaf, SegmentReader) and not leaf.is_closed
    }
    retiring: list = []
    readers = []
    for segment in toc.segments:
        leaf = kept.pop(segment.segment_id(), None)
        if leaf is None:
            readers.append(SegmentReader(storage, schema, segment, generation=toc.generation))
            continue
        if leaf.segment().deleted_count() != segment.deleted_count():
            leaf, replaced = _internals.reader_with_deletions(leaf, segment=segment)
            retiring.append(replaced)
        _internals.reader_generation_set(leaf, generation=toc.generation)
        readers.append(leaf)
    retiring.extend(kept.values())  # merged away
    readers_close(retired)
    if not readers:
        reader = EmptyReader(schema)
    elif len(readers) == 1:
        reader = readers[0]
    else:
        reader = MultiReader(readers, generation=toc.generation)
    return Searcher(reader, fromindex=index), retiring


def readers_close(items: list) -> None:
    for item in items:
        with contextlib.suppress(Exception):
            item.close()
