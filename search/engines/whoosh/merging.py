"""When and how segments merge: tiers, small merges inline, big ones beside the writer.

Each commit writes one new segment. Whoosh's default policy merges them at commit time, so a
commit now and then rewrote most of the index while holding the only write lock: builds
stopped for minutes. Here:

* segments are grouped in tiers by live document count (≤ ``SEARCH_MERGE_FLOOR_DOCS``, then
  ×``SEARCH_MERGE_FANOUT`` per tier); a tier with that many segments is merged into one;
* a commit merges inline only when the group is small (≤ ``SEARCH_MERGE_INLINE_DOCS``,
  a second or two), so the write lock is never held for long;
* bigger groups are merged by ``merge_step`` beside the writer: it holds the lock a moment to
  choose its group and mark it (a marker file names the segment being written and the
  segments it reads), writes the merged segment without the lock, then takes the lock again
  only to swap it in, carrying over deletions made meanwhile. Commits and other merges in
  between leave the marked segments and the half-written files alone.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from whoosh import index as whoosh_index
from whoosh.index import LockError
from whoosh.reading import SegmentReader
from whoosh.util.filelock import try_for

from . import _internals
from .searcher import newest_read

logger = logging.getLogger(__name__)

MARKER_PREFIX = "MERGING_"
# A marker older than this belongs to a merge that died; its files may be cleaned.
MARKER_STALE_SECONDS = 6 * 3600


def _live(segment: Any) -> int:
    return segment.doc_count_all() - segment.deleted_count()


def tier(segment: Any) -> int:
    live = _live(segment)
    floor = max(settings.SEARCH_MERGE_FLOOR_DOCS, 1)
    if live <= floor:
        return 0
    return int(math.log(live / floor, fanout())) + 1


def fanout() -> int:
    return max(settings.SEARCH_MERGE_FANOUT, 2)


def merge_choose(segments: list, *, max_docs: int | None = None) -> list:
    """The segments to merge next: ``fanout()`` of the lowest tier that has that many, smallest
    first (empty when no tier is full, or when the group exceeds ``max_docs``)."""
    tiers: dict[int, list] = {}
    for segment in segments:
        tiers.setdefault(tier(segment), []).append(segment)
    for level in sorted(tiers):
        members = tiers[level]
        if len(members) >= fanout():
            group = sorted(members, key=_live)[: fanout()]
            if max_docs is not None and sum(map(_live, group)) > max_docs:
                return []
            return group
    return []


def commit_policy(writer: Any, segments: list) -> list:
    """A Whoosh merge policy (``writer.commit(mergetype=...)``): merge only a small group."""
    busy = segments_merging(writer.storage)
    free = [s for s in segments if s.segment_id() not in busy]
    group = merge_choose(free, max_docs=settings.SEARCH_MERGE_INLINE_DOCS)
    chosen = {s.segment_id() for s in group}
    for segment in group:
        writer.add_reader(SegmentReader(writer.storage, writer.schema, segment))
    return [s for s in segments if s.segment_id() not in chosen]


# --- markers: which segments are being written beside the index ---------------------------


def merges_running(storage: Any) -> set[str]:
    """Segment ids being written by merges that are still alive."""
    return {target for target, _sources in _markers(storage)}


def segments_merging(storage: Any) -> set[str]:
    """Segment ids that running merges are reading (another merge leaves them alone)."""
    return {source for _target, sources in _markers(storage) for source in sources}


def _markers(storage: Any) -> list[tuple[str, set[str]]]:
    """(segment being written, segments it merges) for each merge still alive.

    A marker names its merge's host and process and the segments it reads; on this host a
    marker whose process is gone (killed mid-merge) no longer counts, so the next commit
    cleans the half-written files. A marker from another host counts until
    ``MARKER_STALE_SECONDS``.
    """
    now = time.time()
    found = []
    for name in storage.list():
        if not name.startswith(MARKER_PREFIX):
            continue
        try:
            marker = storage.open_file(name)
            try:
                owner, _, sources = marker.read().decode("ascii").partition("\n")
            finally:
                marker.close()
            age = now - storage.file_modified(name)
        except (OSError, UnicodeDecodeError):
            continue  # removed meanwhile: that merge ended
        host, _, pid = owner.partition(" ")
        if host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid)):
            _marker_remove(storage, name)
            continue
        if age < MARKER_STALE_SECONDS:
            found.append((name[len(MARKER_PREFIX) :], set(sources.split())))
    return found


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def _marker_write(storage: Any, name: str, *, sources: list[str]) -> None:
    marker = storage.create_file(name)
    marker.write(f"{socket.gethostname()} {os.getpid()}\n{' '.join(sources)}".encode("ascii"))
    marker.close()


def _marker_remove(storage: Any, name: str) -> None:
    with contextlib.suppress(OSError):
        storage.delete_file(name)


def writer_protecting(storage: Any) -> Callable[[], set[str]]:
    return lambda: merges_running(storage)


@dataclass(frozen=True)
class MergeResult:
    merged: int  # segments merged
    documents: int  # live documents in the new segment
    seconds: float


def _group_next(index: Any, *, schema: Any, max_docs: int | None = None) -> list:
    """The next group to merge in the index as it is now, leaving out segments being merged."""
    toc = _toc_read(index, schema=schema)
    busy = segments_merging(index.storage)
    return merge_choose([s for s in toc.segments if s.segment_id() not in busy], max_docs=max_docs)


def _toc_read(index: Any, *, schema: Any) -> Any:
    return newest_read(lambda: whoosh_index.TOC.read(index.storage, index.indexname, schema=schema))


def merge_step(
    index: Any, *, schema: Any, lock_timeout: float, max_docs: int | None = None
) -> MergeResult | None:
    """Merge the next group (``merge_choose``) beside the index, then swap it in under the lock.

    Returns None when there is nothing to merge, or when the group changed meanwhile (a
    rebuild cleared the index): the new files are then left for the next commit to clean.
    """
    storage = index.storage
    if not _group_next(index, schema=schema, max_docs=max_docs):
        # (most calls, after a commit: nothing to merge, and no waiting for the lock to see it;
        # with the processes of a parallel settle asking at once, one waited 0.1 s)
        return None
    lock = index.lock("WRITELOCK")
    if not try_for(lock.acquire, timeout=lock_timeout, delay=0.1):
        raise LockError("merge: the index's write lock was not released in time")
    try:
        # Chosen and marked under the lock: between an unlocked choice and its marker, a
        # commit merging small groups inline, or another merge (a thread of this process, a
        # process of a rebuild), could take the same segments, swap them out and delete
        # their files under this merge.
        group = _group_next(index, schema=schema, max_docs=max_docs)
        if not group:
            return None
        writer = _internals.FastSegmentWriter(index, _lk=False, protected=writer_protecting(storage))
        marker = MARKER_PREFIX + writer.newsegment.segment_id()
        _marker_write(storage, marker, sources=[s.segment_id() for s in group])
    finally:
        lock.release()
    started = time.monotonic()
    try:
        seen = {s.segment_id(): set(s.deleted_docs()) for s in group}
        readers = []
        try:
            for segment in group:
                readers.append(SegmentReader(storage, schema, segment))
        except FileNotFoundError:
            for reader in readers:
                reader.close()
            return None  # the index was cleared since (a rebuild)
        docmaps = [writer.segment_add(reader) for reader in readers]
        merged = _internals.segment_write(writer)
        if not _swap(
            index, schema=schema, group=group, seen=seen, docmaps=docmaps, merged=merged, timeout=lock_timeout
        ):
            return None
    finally:
        _marker_remove(storage, marker)
    result = MergeResult(merged=len(group), documents=_live(merged), seconds=time.monotonic() - started)
    logger.info(
        "merged %d segments (%d documents) in %.1f s", result.merged, result.documents, result.seconds
    )
    return result


def _swap(
    index: Any, *, schema: Any, group: list, seen: dict, docmaps: list, merged: Any, timeout: float
) -> bool:
    lock = index.lock("WRITELOCK")
    if not try_for(lock.acquire, timeout=timeout, delay=0.1):
        raise LockError("merge: the index's write lock was not released in time")
    try:
        toc = whoosh_index.TOC.read(index.storage, index.indexname, schema=schema)
        current = {s.segment_id(): s for s in toc.segments}
        if any(s.segment_id() not in current for s in group):
            return False
        for segment, docmap in zip(group, docmaps, strict=True):
            for docnum in set(current[segment.segment_id()].deleted_docs()) - seen[segment.segment_id()]:
                merged.delete_document(int(docmap[docnum]))  # deleted while the merge ran
        replaced = set(seen)
        segments = []
        for segment in toc.segments:
            if segment.segment_id() not in replaced:
                segments.append(segment)
            elif merged is not None:
                segments.append(merged)  # where the group's first member was
                merged = None
        generation = toc.generation + 1
        whoosh_index.TOC(schema, segments, generation).write(index.storage, index.indexname)
        _internals.files_clean(
            index.storage,
            index.indexname,
            generation=generation,
            segments=segments,
            keep=merges_running(index.storage),
        )
        return True
    finally:
        lock.release()


def merges_settle(
    index: Any,
    *,
    schema: Any,
    lock_timeout: float,
    jobs: int = 1,
    on_merge: Callable[[MergeResult], None] | None = None,
) -> int:
    """Merge until no tier is full (commands that end a build call this), with ``jobs``
    processes taking disjoint groups. Returns how many merges ran (in every process)."""
    children = []
    if jobs > 1 and hasattr(os, "fork"):
        for _ in range(jobs - 1):
            pid = os.fork()
            if pid == 0:  # a forked child: it shows its merges too; its exit status is its count
                code = 0
                try:
                    code = min(
                        _merge_loop(index, schema=schema, lock_timeout=lock_timeout, on_merge=on_merge), 255
                    )
                except BaseException:
                    logger.exception("merge process failed")
                finally:
                    os._exit(code)
            children.append(pid)
    made = _merge_loop(index, schema=schema, lock_timeout=lock_timeout, on_merge=on_merge)
    for pid in children:
        _pid, status = os.waitpid(pid, 0)
        made += os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 0
    if children:  # the others' merges may have filled a tier
        made += _merge_loop(index, schema=schema, lock_timeout=lock_timeout, on_merge=on_merge)
    return made


def _merge_loop(index: Any, *, schema: Any, lock_timeout: float, on_merge: Callable | None) -> int:
    made = 0
    while (result := merge_step(index, schema=schema, lock_timeout=lock_timeout)) is not None:
        made += 1
        if on_merge:
            on_merge(result)
    return made


class BackgroundMerger:
    """At most one merging process at a time, forked from this one.

    A thread would share this process's interpreter lock with the writer, halving both; a
    process of its own runs on another core, and writes go on at full speed. It touches no
    database connection and leaves with ``os._exit``, so nothing the parent holds is closed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None

    def start(self, index: Any, *, schema: Any, lock_timeout: float) -> bool:
        """Fork a merger unless one is running or no tier is full; whether one was started."""
        with self._lock:
            if self._reaped(block=False) or not _group_next(index, schema=schema):
                return False
            pid = os.fork()
            if pid == 0:  # the merger
                code = 0
                try:
                    _merge_loop(index, schema=schema, lock_timeout=lock_timeout, on_merge=None)
                except BaseException:
                    logger.exception("background merge failed; the index is as it was")
                    code = 1
                finally:
                    os._exit(code)
            self._pid = pid
            return True

    def wait(self) -> None:
        with self._lock:
            self._reaped(block=True)

    def _reaped(self, *, block: bool) -> bool:
        """Whether the merger is still running (after reaping it if it ended)."""
        if self._pid is None:
            return False
        try:
            pid, _status = os.waitpid(self._pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            pid = self._pid  # already reaped elsewhere
        if pid == 0:
            return True
        self._pid = None
        return False
