"""Index tasks; routed to the ``index`` queue (one consumer, so one Whoosh writer)."""

from __future__ import annotations

import logging

from celery import shared_task

from .index_queue import articles_index_coalesced
from .services import articles_index_sync

logger = logging.getLogger(__name__)


@shared_task(name="search.tasks.index_articles", acks_late=True, max_retries=5, default_retry_delay=10)
def index_articles(ids: list[int], *, enqueued_at: int | None = None) -> dict[str, int]:
    """Bring the index in line with the rows ``ids``: update published ones, remove the rest.

    ``enqueued_at`` (the Redis stamp of the flush) comes with messages sent through a broker:
    those are coalesced with other pending ids. Inline calls, and messages queued before
    coalescing existed (``ids`` alone, positional), index just their ids.
    """
    ids = [int(i) for i in ids]
    if enqueued_at is None:
        result = articles_index_sync(ids=ids)
    else:
        result = articles_index_coalesced(ids=ids, enqueued_at=int(enqueued_at))
    logger.info(
        "indexed %d, removed %d articles (skipped %d already indexed, took %d pending)",
        result["updated"],
        result["removed"],
        result.get("dropped", 0),
        result.get("taken", 0),
    )
    return result
