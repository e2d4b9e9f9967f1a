"""Index tasks; routed to the ``index`` queue (one consumer, so one Whoosh writer)."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings

from articles import pipeline

from .backlog import index_backlog_apply, index_changes_mark, index_wake
from .backlog import index_sweep as backlog_sweep
from .engines import engine_get
from .engines.contract import IndexBusy
from .models import IndexChange

logger = logging.getLogger(__name__)

# When this process last wrote to the index (the index queue has a single consumer).
_last_apply = 0.0


# Seconds before the next try when another writer holds the index: 10, 20, 40 … at most 120.
BUSY_DELAY_MAX = 120


@shared_task(name="search.tasks.index_articles")
def index_articles(
    ids: list[int] | None = None, enqueued_at: int | None = None, attempt: int = 0
) -> dict[str, int]:
    """Work the index backlog off (``search.backlog``). The message carries nothing: it only wakes.

    ``ids`` comes with messages queued before the backlog existed; they are marked first.
    """
    global _last_apply
    if ids:
        index_changes_mark(ids=ids)
    if not IndexChange.objects.exists():
        return {"updated": 0, "removed": 0, "batches": 0}  # an earlier wake-up did the work
    # Every commit makes each web process renew its searcher and read the new segment; during
    # a long ingest, commits a few seconds apart keep that cost small and lose only seconds.
    # (Wake-ups expire, so the ones that pile up meanwhile are dropped, not slept through.)
    wait = _last_apply + settings.SEARCH_COMMIT_INTERVAL_SECONDS - time.monotonic()
    if wait > 0:
        _wait_while_ingesting(seconds=wait)
    _last_apply = time.monotonic()
    try:
        result = index_backlog_apply()
    except IndexBusy as exc:
        # Another writer holds the index longer than we wait for it. The marks stay in the
        # backlog; a fresh, delayed wake-up tries again. (Not ``self.retry``: the retried
        # message would keep this one's expiry, already past, and be discarded on arrival.)
        delay = min(10 * 2**attempt, BUSY_DELAY_MAX)
        logger.warning("index busy (%s); retry %d in %d s", exc, attempt + 1, delay)
        index_wake(delay=delay, attempt=attempt + 1)
        return {"updated": 0, "removed": 0, "batches": 0}
    if result["batches"]:
        # Merge in a process of its own, beside this worker's next commits (a merge holds the
        # write lock only to swap its segment in); a long ingest gets merged as it goes.
        engine_get().maintain(wait=False)
    if IndexChange.objects.exists():
        # Changes committed while this apply ran: their own wake-ups may expire in the queue.
        index_wake()
    if result["batches"]:
        logger.info(
            "indexed %d, removed %d articles in %d commits",
            result["updated"],
            result["removed"],
            result["batches"],
        )
    return result


def _wait_while_ingesting(*, seconds: float) -> None:
    """Sleep up to ``seconds``, but only while an ingest has files no worker has taken yet
    and more of them than the backlog holds.

    The interval gathers the changes of a running ingest into few commits (each costs the
    index worker a flush and the web processes a new segment: commits every second or every
    500 changes made 2,000 files take longer). Near its end, what waits is committed at once:
    once the last batches are in workers' hands (at 2,000 files, waiting out the interval
    was a sixth of the time until everything could be found), and once the files still to do
    are no more than the marks waiting. The index writes an article in a third of the time
    the ingest takes to make one, so that commit ends about when the ingest does, and the
    last commit holds only what came in meanwhile (at 2,285 files the last article became
    searchable 0.6–1.3 s after the ingest ended, not 1.3–1.8 s)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0 and pipeline.ingest_work_waiting():
        if pipeline.ingest_items_pending() <= IndexChange.objects.count():
            return
        time.sleep(min(left, 0.5))


@shared_task(name="search.tasks.index_sweep")
def index_sweep() -> dict[str, int]:
    """Beat job, and sent by every worker when it connects: wake the index worker for a backlog."""
    return backlog_sweep()
