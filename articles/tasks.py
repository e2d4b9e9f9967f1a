"""Thin Celery tasks: they take ids, and the services they call are idempotent.

Because a repeated run changes nothing, tasks acknowledge late: a worker that dies mid-task
has its message redelivered instead of lost.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from . import inbox, services

logger = logging.getLogger(__name__)

# Only database trouble is worth retrying; bad input is recorded as a failed item by the
# service and never raised.
TRANSIENT_ERRORS = (DatabaseError, OSError)


@shared_task(bind=True, acks_late=True, max_retries=settings.CELERY_TASK_MAX_RETRIES)
def ingest_item(self, item_id: int) -> str:
    try:
        return services.ingest_item_process(item_id=item_id)
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.exception("ingest item %s failed after %s retries", item_id, self.request.retries)
            services.ingest_item_fail(
                item_id=item_id, reason=f"内部错误，已重试 {self.max_retries} 次：{exc}"
            )
            return "failed"
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(bind=True, acks_late=True, max_retries=settings.CELERY_TASK_MAX_RETRIES)
def reclean_article(self, article_id: int) -> bool:
    try:
        return services.article_reclean(article_id=article_id)
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(acks_late=True)
def ingest_inbox() -> int:
    """Beat job: ingest files dropped into INGEST_INBOX_DIR, moving each to done/ or failed/."""
    return inbox.inbox_process(inbox_dir=settings.INGEST_INBOX_DIR)
