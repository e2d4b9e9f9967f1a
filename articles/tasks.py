"""Thin Celery tasks: they take ids, and the services they call are idempotent.

A message only wakes a worker: the item row says whether there is still work, and the worker
claims it before doing it (``articles.pipeline``). Messages are acknowledged late and given
back when the process running them dies, and the sweep re-queues whatever a lost message
leaves behind.
"""

from __future__ import annotations

import datetime
import logging
import os

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from . import inbox, ingest, pipeline, services

logger = logging.getLogger(__name__)

# Only database trouble is worth retrying; bad input is recorded as a failed item by the
# service and never raised.
TRANSIENT_ERRORS = (DatabaseError, OSError)


@shared_task(bind=True, max_retries=settings.CELERY_TASK_MAX_RETRIES)
def ingest_item(self, item_id: int, batch: list[int] | None = None) -> str:
    # The task id is the claim token: a retry or a redelivery of this message after its
    # process died carries the same id and so takes over the claims it left behind.
    worker = f"{self.request.hostname or 'inline'}/{os.getpid()}"
    try:
        # (with the rest of its batch, written together)
        return ingest.ingest_item_work(
            item_id=item_id, batch=batch, token=self.request.id or "", worker=worker
        )
    except TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            logger.exception("ingest item %s failed after %s retries", item_id, self.request.retries)
            ingest.ingest_item_fail(item_id=item_id, reason=f"内部错误，已重试 {self.max_retries} 次：{exc}")
            return "failed"
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task(bind=True, max_retries=settings.CELERY_TASK_MAX_RETRIES)
def reclean_article(self, article_id: int) -> bool:
    try:
        return services.article_reclean(article_id=article_id)
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


@shared_task
def ingest_inbox() -> int:
    """Beat job: ingest files dropped into INGEST_INBOX_DIR, moving each to done/ or failed/."""
    return inbox.inbox_process(inbox_dir=settings.INGEST_INBOX_DIR)


@shared_task
def ingest_sweep(restarted_worker: str = "", started_at: str = "") -> dict[str, int]:
    """Beat job, and sent by every worker when it connects: re-queue what nothing else will.

    ``restarted_worker``/``started_at``: a worker that has just started under a name releases
    the claims its predecessor of that name took before ``started_at`` (those processes are gone).
    """
    released = 0
    if restarted_worker and started_at:
        before = datetime.datetime.fromisoformat(started_at)
        released = pipeline.ingest_claims_release(worker_prefix=f"{restarted_worker}/", claimed_before=before)
    result = pipeline.ingest_sweep()
    if released or result["requeued"]:
        logger.info("ingest sweep: released %d claims, re-queued %d items", released, result["requeued"])
    return {"released": released, **result, "at": int(timezone.now().timestamp())}
