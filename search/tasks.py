"""Index tasks; routed to the ``index`` queue (one consumer, so one Whoosh writer)."""

from __future__ import annotations

import logging

from celery import shared_task

from .services import articles_index_sync

logger = logging.getLogger(__name__)


@shared_task(name="search.tasks.index_articles", acks_late=True, max_retries=5, default_retry_delay=10)
def index_articles(ids: list[int]) -> dict[str, int]:
    """Bring the index in line with the rows ``ids``: update published ones, remove the rest."""
    result = articles_index_sync(ids=[int(i) for i in ids])
    logger.info("indexed %(updated)d, removed %(removed)d articles", result)
    return result
