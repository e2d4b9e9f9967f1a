"""The index backlog: which articles' index entries are out of date, kept in the database.

A change that affects an article's index entry (a save, a delete, a new tag, a renamed policy
document) marks the article in ``IndexChange`` in the same transaction, and after the commit
one message wakes the index worker. The worker takes the oldest marks, writes their documents
in one commit and deletes the marks by the tokens it read. So:

* a lost message (a killed worker, Redis restarted empty) loses nothing: the marks stay until
  indexed, and the sweep wakes the worker again;
* many messages coalesce by themselves: the first drains everything, the rest find nothing;
* a change committed while a batch was being indexed has a new token, so its mark survives
  the batch's delete and the article is indexed again.

Whoosh allows one writer, so the ``index`` queue has one consumer; inline (no broker) the
backlog is worked off in the process that made the change, right after its commit.
Elasticsearch takes writes from several processes (``concurrent_writes``), so its consumer can
be a pool: on PostgreSQL each batch's marks are claimed with ``SELECT … FOR UPDATE SKIP
LOCKED`` for the length of its write, so two workers never take the same article (nor one
article's old and new version at once); a worker that dies releases its claim with its
connection. A worker that claims a full batch wakes one more, which takes the next.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from articles import pipeline

from .engines import engine_get
from .engines.contract import IndexBusy
from .models import IndexChange
from .services import articles_index_sync

logger = logging.getLogger(__name__)

INDEX_TASK = "search.tasks.index_articles"
INDEX_QUEUE = "index"
# Marks indexed in one writer commit.
BATCH_SIZE = 2000
# With a pool of writers: smaller claims spread the backlog over the pool, and a change to a
# claimed article waits for one short write only.
POOL_BATCH_SIZE = 500
# One task stops taking new batches after this long, so a steady stream of changes still
# lets the worker come up for its other messages.
TIME_BUDGET_SECONDS = 60.0

_local = threading.local()


def index_changes_mark(*, ids: Iterable[int], using: str = "default") -> None:
    """Record that the index entries of ``ids`` are out of date, and wake the worker after commit."""
    ids = sorted({int(i) for i in ids})
    if not ids:
        return
    now = timezone.now()
    IndexChange.objects.using(using).bulk_create(
        [IndexChange(article_id=pk, token=uuid.uuid4().hex, changed_at=now) for pk in ids],
        update_conflicts=True,
        unique_fields=["article_id"],
        update_fields=["token", "changed_at"],
    )
    _local.wake_wanted = True
    transaction.on_commit(_wake_after_commit, using=using)


def _wake_after_commit() -> None:
    # Every mark registers this callback; the first one after a commit wakes, the rest return.
    if not getattr(_local, "wake_wanted", False) or getattr(_local, "deferred", 0):
        return
    _local.wake_wanted = False
    index_wake()


def index_wake(*, delay: float = 0, attempt: int = 0) -> None:
    """Work the backlog off now (inline) or wake the index worker (broker), after ``delay``
    seconds. Never raises for a broker that is down: the marks are in the database and the
    sweep wakes the worker later."""
    if pipeline.tasks_inline():
        try:
            applied = index_backlog_apply()
            if applied["batches"]:
                # Commits merge only small groups of segments; a bulk write (an ingest
                # command) leaves bigger groups, merged here before it returns.
                engine_get().maintain(wait=True)
        except IndexBusy as exc:
            # Another process holds the index (a rebuild, say): the marks stay, and the next
            # change, update_index or search_check --fix works them off.
            logger.warning("index busy (%s); %d changes wait", exc, IndexChange.objects.count())
        return
    try:
        # A wake-up older than two commit intervals is dropped unread: applies ran meanwhile,
        # and the worker wakes itself when marks arrived during one (see search.tasks); after
        # a longer absence the sweep at its connect wakes it.
        expires = delay + 2 * settings.SEARCH_COMMIT_INTERVAL_SECONDS
        options = {"countdown": delay} if delay else {}
        kwargs = {"attempt": attempt} if attempt else None
        pipeline.send_task(name=INDEX_TASK, queue=INDEX_QUEUE, kwargs=kwargs, expires=expires, **options)
    except pipeline.BrokerUnavailable as exc:
        logger.warning("index wake-up not sent (%s); the sweep will send it", exc)


def index_wakeups_defer() -> None:
    """A bulk write starts (``articles.signals.changes_batched``): marks are written as usual,
    the worker is woken once, at the matching ``index_wakeups_resume``."""
    _local.deferred = getattr(_local, "deferred", 0) + 1


def index_wakeups_resume(*, wake: bool = True) -> None:
    """``wake=False``: the marks stay for the process that wakes the index for the batch."""
    _local.deferred = max(getattr(_local, "deferred", 0) - 1, 0)
    if not wake:
        _local.wake_wanted = False
        return
    if not _local.deferred and getattr(_local, "wake_wanted", False):
        _local.wake_wanted = False
        index_wake()


@contextmanager
def index_wakeups_deferred() -> Iterator[None]:
    """Bulk writes: the marks are written as usual, the backlog is worked off once at the end."""
    index_wakeups_defer()
    try:
        yield
    finally:
        index_wakeups_resume()


def index_backlog_apply(
    *, batch_size: int | None = None, budget: float = TIME_BUDGET_SECONDS
) -> dict[str, int]:
    """Index the oldest marked articles, a batch per writer commit, until the backlog is empty
    or the time budget is spent. Idempotent; safe to run while changes keep coming, and, on
    an engine with ``concurrent_writes`` over PostgreSQL, in several workers at once."""
    totals = {"updated": 0, "removed": 0, "batches": 0}
    deadline = time.monotonic() + budget
    pooled = _claims_locked()
    if batch_size is None:
        batch_size = POOL_BATCH_SIZE if pooled else BATCH_SIZE
    fanned_out = False
    while True:
        with transaction.atomic() if pooled else nullcontext():
            marks = _marks_take(batch_size=batch_size, lock=pooled)
            if not marks:
                break
            if pooled and not fanned_out and len(marks) == batch_size:
                # more wait behind this batch: another worker of the pool takes the next one
                fanned_out = True
                index_wake()
            stats = articles_index_sync(ids=[pk for pk, _ in marks], batch_size=len(marks))
            # Only the marks read above: a change committed since has a new token and stays.
            IndexChange.objects.filter(token__in=[token for _, token in marks]).delete()
        totals["updated"] += stats["updated"]
        totals["removed"] += stats["removed"]
        totals["batches"] += 1
        if len(marks) < batch_size or time.monotonic() > deadline:
            break
    return totals


def _claims_locked() -> bool:
    """Whether batches are claimed with row locks: several writers may work at once."""
    return (
        not pipeline.tasks_inline()
        and connection.features.has_select_for_update_skip_locked
        and engine_get().concurrent_writes
    )


def _marks_take(*, batch_size: int, lock: bool) -> list[tuple[int, str]]:
    """The oldest marks (article id, token); with ``lock``, only marks no other worker holds,
    held until the surrounding transaction ends."""
    marks = IndexChange.objects.order_by("changed_at", "id")
    if lock:
        marks = marks.select_for_update(skip_locked=True)
    return list(marks.values_list("article_id", "token")[:batch_size])


def index_sweep() -> dict[str, int]:
    """Wake the index worker when the backlog holds marks and no wake-up is waiting for it."""
    backlog = IndexChange.objects.count()
    if backlog and pipeline.queue_length(queue=INDEX_QUEUE) == 0:
        index_wake()
        return {"backlog": backlog, "woken": 1}
    return {"backlog": backlog, "woken": 0}


def index_backlog_status() -> dict[str, object]:
    now = timezone.now()
    oldest = IndexChange.objects.aggregate(oldest=Min("changed_at"))["oldest"]
    return {
        "backlog": IndexChange.objects.count(),
        "oldest_seconds": (now - oldest).total_seconds() if oldest else None,
    }
