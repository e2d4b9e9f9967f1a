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
import time
from collections.abc import Callable
from typing import Any, TypeVar

from whoosh import index as whoosh_index
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from . import _internals

# Tries at reading the newest generation, as Whoosh's own ``FileIndex.reader`` makes, 50 ms apart.
NEWEST_ATTEMPTS = 10

T = TypeVar("T")


def newest_read(read: Callable[[], T]) -> T:
    """``read()``, again while it finds a file of the generation it read gone.

    Every commit writes the next table of contents, then deletes the one before and the
    files of segments merged away (a merge in another process, or in another thread of this
    one, commits too). A reader between the listing and the opening finds them gone; it reads
    the listing again, as Whoosh's own ``FileIndex.reader`` does, instead of failing.
    """
    for _ in range(NEWEST_ATTEMPTS - 1):
        try:
            return read()
        except FileNotFoundError:
            time.sleep(0.05)
    return read()


def searcher_renew(old: Searcher, *, index: Any, schema: Any, retired: list) -> tuple[Searcher, list]:
    """(a searcher over ``index``'s newest generation, what to close at the next renewal).

    ``retired`` holds what the previous renewal replaced; it is closed here, one renewal
    after it stopped being used by new queries. A segment merged away between the reading of
    the TOC and the opening of its files: read again (``newest_read``).
    """
    readers, generation, retiring = newest_read(lambda: _readers_open(old, index=index, schema=schema))
    readers_close(retired)
    if not readers:
        reader = EmptyReader(schema)
    elif len(readers) == 1:
        reader = readers[0]
    else:
        reader = MultiReader(readers, generation=generation)
    return Searcher(reader, fromindex=index), retiring


def _readers_open(old: Searcher, *, index: Any, schema: Any) -> tuple[list, int, list]:
    """(the readers of the newest generation's segments, that generation, the readers they
    replace): those of ``old`` for the segments still there, new ones for the rest. When a
    segment's files are gone, what it opened is closed and ``FileNotFoundError`` raised;
    ``old``'s readers are left as they were."""
    storage = index.storage
    toc = whoosh_index.TOC.read(storage, index.indexname, schema=schema)
    kept = {
        leaf.segment().segment_id(): leaf
        for leaf, _offset in old.reader().leaf_readers()
        if isinstance(leaf, SegmentReader) and not leaf.is_closed
    }
    # what this call opened: new segments' readers, and the per-document readers of the kept
    # ones with new deletions (the rest of those copies is the old readers' own files)
    opened: list = []
    retiring: list = []
    readers = []
    try:
        for segment in toc.segments:
            leaf = kept.pop(segment.segment_id(), None)
            if leaf is None:
                leaf = SegmentReader(storage, schema, segment, generation=toc.generation)
                opened.append(leaf)
                readers.append(leaf)
                continue
            if leaf.segment().deleted_count() != segment.deleted_count():
                leaf, replaced = _internals.reader_with_deletions(leaf, segment=segment)
                opened.append(_internals.reader_own_part(leaf))
                retiring.append(replaced)
            readers.append(leaf)
    except FileNotFoundError:
        readers_close(opened)
        raise
    for leaf in readers:
        _internals.reader_generation_set(leaf, generation=toc.generation)
    retiring.extend(kept.values())  # merged away
    return readers, toc.generation, retiring


def readers_close(items: list) -> None:
    for item in items:
        with contextlib.suppress(Exception):
            item.close()
