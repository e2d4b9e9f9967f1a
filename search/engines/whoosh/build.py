"""Building an empty index with every core: one process per core, each writing whole segments.

Whoosh has one writer at a time, and haystack's ``update_index --workers`` only queues its
batches behind that one lock. Here the build holds the write lock for its whole length, and
forked processes each turn a batch of articles into a finished segment of their own
(``FastSegmentWriter`` without the lock, files but no table of contents). The parent
publishes every segment in one commit, in article-id order, then merges them by tiers.

Only an empty index is built this way (``rebuild_index`` clears it first): the segments
add documents and never delete older versions.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections
from whoosh import index as whoosh_index
from whoosh.index import LockError
from whoosh.util.filelock import try_for

from . import _internals, merging


class BuildInterrupted(Exception):
    """A build process died; nothing was published."""


# What a forked build process works with: set by ``index_build`` just before it forks.
_job: dict[str, Any] = {}


def _segment_build(pks: Sequence[int]) -> tuple[Any, int]:
    """In a build process: one batch of articles → one finished segment (not yet published)."""
    backend, index, queryset = _job["backend"], _job["index"], _job["queryset"]
    objects = list(queryset.filter(pk__in=pks).order_by("pk"))
    docs = backend._docs_prepare(index, objects)
    writer = _internals.FastSegmentWriter(backend.index, _lk=False)
    for doc in docs:
        writer.add_document(**doc)
    return _internals.segment_write(writer), len(pks)


def index_build(
    *,
    backend: Any,
    index: Any,
    queryset: Any,
    jobs: int,
    batch_size: int,
    lock_timeout: float,
    on_batch: Callable[[int], None] | None = None,
) -> int | None:
    """Index every object of ``queryset`` into the backend's empty index with ``jobs``
    processes; returns how many were indexed, or None when the index is not empty. Raises
    ``LockError`` when another writer holds the index, ``BuildInterrupted`` when a build
    process died (nothing published)."""
    ix = backend.index.refresh()
    lock = ix.lock("WRITELOCK")
    if not try_for(lock.acquire, timeout=lock_timeout, delay=0.1):
        raise LockError("the index's write lock is held by another writer")
    try:
        toc = whoosh_index.TOC.read(ix.storage, ix.indexname, schema=backend.index_schema)
        if any(s.doc_count_all() for s in toc.segments):
            return None  # written to since the caller looked: batch by batch instead
        pks = list(queryset.order_by("pk").values_list("pk", flat=True))
        # every process busy to the end: no batch larger than an even share
        batch_size = max(1, min(batch_size, -(-len(pks) // max(jobs, 1))))
        batches = [pks[i : i + batch_size] for i in range(0, len(pks), batch_size)]
        segments = []
        _job.update(backend=backend, index=index, queryset=queryset)
        # Forked processes must not share the parent's database connections.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        try:
            with concurrent.futures.ProcessPoolExecutor(max_workers=max(jobs, 1), mp_context=context) as pool:
                # ``map`` hands the results back in batch order: documents keep id order.
                for segment, count in pool.map(_segment_build, batches):
                    segments.append(segment)
                    if on_batch:
                        on_batch(count)
        except concurrent.futures.process.BrokenProcessPool as exc:
            # Nothing is published: the segments written so far are cleaned by the next commit.
            raise BuildInterrupted(
                "建索引的进程意外退出（可能被系统终止或内存不足），索引未作改动；"
                "请重新运行 python manage.py rebuild_index。"
            ) from exc
        finally:
            _job.clear()
        generation = toc.generation + 1
        whoosh_index.TOC(backend.index_schema, segments, generation).write(ix.storage, ix.indexname)
        _internals.files_clean(
            ix.storage,
            ix.indexname,
            generation=generation,
            segments=segments,
            keep=merging.merges_running(ix.storage),
        )
        return len(pks)
    finally:
        lock.release()
