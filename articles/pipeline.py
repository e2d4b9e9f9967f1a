"""The record of ingest work: claims on items, wake-up messages, the sweep.

The database says what remains to be done (an ``IngestItem`` whose outcome is pending); a
message on the broker only wakes a worker to do it. So:

* a worker claims an item with a conditional UPDATE and checks the row count, so two workers
  never process one item; the claim is a lease that outlives the task's hard time limit, so an
  expired claim belongs to a process that is gone;
* a message delivered again takes over the claim its first delivery left (same token): the
  broker hands a message out a second time only when the process that had it died;
* sending a wake-up may fail (the broker is down): the item stays pending with no
  ``queued_at``, and the sweep sends it once the broker answers again;
* the sweep (beat, and every worker when it connects) re-queues pending items that were never
  queued, whose claim expired, or whose message may be lost (the queue is empty yet the item
  is neither claimed nor done).

Nothing here imports the tasks: messages are sent by task name, so the tasks module can use
this one without an import loop.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from kombu.exceptions import ChannelError as KombuChannelError
from kombu.exceptions import OperationalError as KombuOperationalError

from .models import IngestItem

logger = logging.getLogger(__name__)

Outcome = IngestItem.Outcome
INGEST_TASK = "articles.tasks.ingest_item"
INGEST_QUEUE = "ingest"
# Most items one sweep sends; the next sweep takes the rest.
SWEEP_LIMIT = 5000

# What a broker that is down raises from a publish: kombu wraps connection errors in its own
# OperationalError; socket-level errors (OSError) can escape the wrapping on some transports.
BROKER_ERRORS = (KombuOperationalError, OSError)

BROKER_DOWN_MESSAGE = (
    "消息队列（Redis）暂时无法连接：已记录的 {count} 个文件不会丢失，"
    "队列恢复后由 worker 自动处理；也可以加 --sync 在本进程内直接处理。"
)


class BrokerUnavailable(Exception):
    """The broker refused a wake-up. ``str()`` is a plain-Chinese line for the user."""


@dataclass(frozen=True)
class WakeResult:
    sent: int
    unsent: int
    error: str = ""


def tasks_inline() -> bool:
    """True when tasks run in the calling process (no broker configured)."""
    return bool(current_app.conf.task_always_eager)


def worker_label() -> str:
    return f"{socket.gethostname()}/{os.getpid()}"


def send_task(*, name: str, queue: str, kwargs: dict | None = None, **options) -> None:
    """Hand one message to the broker; raises ``BrokerUnavailable`` with the reason."""
    try:
        current_app.send_task(name, kwargs=kwargs or {}, queue=queue, **options)
    except BROKER_ERRORS as exc:
        raise BrokerUnavailable(f"消息队列（Redis）无法连接：{exc}") from exc


def queue_length(*, queue: str) -> int | None:
    """Messages waiting in ``queue`` on the broker, or None when the broker cannot say."""
    try:
        with current_app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
            try:
                _name, count, _consumers = connection.default_channel.queue_declare(queue=queue, passive=True)
            except KombuChannelError:
                return 0  # not declared (yet, or again after Redis lost everything): holds nothing
            return int(count)
    except BROKER_ERRORS:
        return None


# --- claims ---------------------------------------------------------------------------------


def _claimable(*, token: str, now) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now) | Q(claim_token=token)


def ingest_item_claim(*, item_id: int, token: str, worker: str) -> bool:
    """Take the item for this delivery if nobody holds a live claim on it; True when taken."""
    now = timezone.now()
    taken = (
        IngestItem.objects.filter(pk=item_id, outcome=Outcome.PENDING)
        .filter(_claimable(token=token, now=now))
        .update(
            claim_token=token,
            claimed_by=worker[:200],
            claimed_until=now + timedelta(seconds=settings.INGEST_CLAIM_SECONDS),
            attempts=F("attempts") + 1,
        )
    )
    return taken == 1


def ingest_items_claim(
    *, item_ids: Iterable[int], token: str, worker: str, kind: str, max_attempts: int
) -> list[int]:
    """``ingest_item_claim`` for many items of one ``kind`` at once, all under ``token``:
    those nobody holds, whose attempts are not used up. Returns the ids taken.

    The rows are locked in id order, skipping rows another worker is claiming this moment
    (PostgreSQL's SKIP LOCKED; SQLite has one writer anyway): two workers claiming
    overlapping batches neither wait for each other nor deadlock."""
    now = timezone.now()
    with transaction.atomic():
        taken = list(
            IngestItem.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(item_ids), outcome=Outcome.PENDING, kind=kind, attempts__lt=max_attempts)
            .filter(_claimable(token=token, now=now))
            .order_by("id")
            .values_list("id", flat=True)
        )
        IngestItem.objects.filter(pk__in=taken).update(
            claim_token=token,
            claimed_by=worker[:200],
            claimed_until=now + timedelta(seconds=settings.INGEST_CLAIM_SECONDS),
            attempts=F("attempts") + 1,
        )
    return taken


def ingest_batch_ids(*, item_id: int, token: str, limit: int) -> list[int]:
    """The item a worker was woken for, then the next pending article files of its run that
    nobody else holds (or this delivery held before it died): the batch it works off.

    Their own messages find them done (or claimed) and do nothing, so a worker's wake-up
    costs a few statements whoever gets to the files first."""
    run_id = IngestItem.objects.filter(pk=item_id).values_list("run_id", flat=True).first()
    if run_id is None or limit <= 1:
        return [item_id]
    following = (
        IngestItem.objects.filter(
            run_id=run_id, outcome=Outcome.PENDING, kind=IngestItem.Kind.FILE, id__gt=item_id
        )
        .filter(_claimable(token=token, now=timezone.now()))
        .order_by("id")
        .values_list("id", flat=True)[: limit - 1]
    )
    return [item_id, *following]


def ingest_claims_release(*, worker_prefix: str, claimed_before: datetime) -> int:
    """Release claims a worker of this name took before it (re)started at ``claimed_before``:
    the processes that took them are gone, so their items need not wait for the lease to end."""
    lease = timedelta(seconds=settings.INGEST_CLAIM_SECONDS)
    released = IngestItem.objects.filter(
        outcome=Outcome.PENDING,
        claimed_by__startswith=worker_prefix,
        claimed_until__lt=claimed_before + lease,
    ).update(claim_token="", claimed_by="", claimed_until=None)
    if released:
        logger.warning("released %d claims left by %s", released, worker_prefix)
    return released


# --- wake-ups -------------------------------------------------------------------------------


def wake_batches(item_ids: Iterable[int], *, size: int) -> list[list[int]]:
    """The ids in order, cut into the batches one message each wakes: at most ``size`` items,
    and a few items spread over up to four messages, so a small run still uses the workers
    there are."""
    ids = sorted(item_ids)
    per = max(1, min(size, -(-len(ids) // 4)))
    return [ids[i : i + per] for i in range(0, len(ids), per)]


def ingest_items_wake(*, item_ids: Iterable[int]) -> WakeResult:
    """Wake workers for these items: one message per batch (``wake_batches``), naming its items,
    which its worker claims and works off together. Stops at the first broker error: the
    items not sent stay pending with no ``queued_at`` and are sent by the sweep once the
    broker is back.

    (A message per item cost each worker a task and four statements per file even when a
    batch had already done the file: at 2,000 files, more than the files' own writes.)"""
    ids = list(item_ids)
    sent: list[int] = []
    error = ""
    for batch in wake_batches(ids, size=settings.INGEST_BATCH_FILES):
        try:
            send_task(
                name=INGEST_TASK,
                queue=INGEST_QUEUE,
                kwargs={"item_id": batch[0], "batch": batch[1:]} if len(batch) > 1 else {"item_id": batch[0]},
            )
        except BrokerUnavailable as exc:
            error = str(exc)
            logger.warning(
                "ingest wake-up not sent (%s); %d items wait for the sweep", exc, len(ids) - len(sent)
            )
            break
        sent.extend(batch)
    for start in range(0, len(sent), 5000):  # (SQLite bounds the parameters of one statement)
        IngestItem.objects.filter(pk__in=sent[start : start + 5000]).update(queued_at=timezone.now())
    return WakeResult(sent=len(sent), unsent=len(ids) - len(sent), error=error)


def ingest_sweep(*, limit: int = SWEEP_LIMIT) -> dict[str, int]:
    """Re-queue pending items that nothing will otherwise wake. Safe to run any time, anywhere:
    a redundant message finds its item claimed or done and does nothing."""
    now = timezone.now()
    pending = IngestItem.objects.filter(outcome=Outcome.PENDING)
    expired = Q(claimed_until__lt=now)
    never_queued = Q(claimed_until__isnull=True, queued_at__isnull=True)
    due = expired | never_queued
    # An unclaimed item that was queued may have lost its message (a Redis restarted empty):
    # when the queue holds nothing, nothing is on its way to it either.
    if queue_length(queue=INGEST_QUEUE) == 0:
        due |= Q(claimed_until__isnull=True)
    ids = list(pending.filter(due).order_by("id").values_list("id", flat=True)[:limit])
    result = ingest_items_wake(item_ids=ids)
    return {"requeued": result.sent, "unsent": result.unsent}


# --- status ---------------------------------------------------------------------------------


def ingest_work_waiting() -> bool:
    """Whether an ingest item waits for a worker to take it: pending, and not claimed by a
    worker that is working on it now (its claim live). False near the end of a run, once its
    last batches are in workers' hands."""
    return (
        IngestItem.objects.filter(outcome=Outcome.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now()))
        .exists()
    )


def ingest_items_pending() -> int:
    """How many ingest items are not finished yet (waiting or in a worker's hands)."""
    return IngestItem.objects.filter(outcome=Outcome.PENDING).count()


def age_describe(seconds: float | None) -> str:
    """How long something has waited, in the unit a person would use."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} 秒"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} 分钟"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} 小时"
    return f"{seconds / 86400:.1f} 天"


def ingest_pipeline_status() -> dict[str, object]:
    """Counts of the ingest work in the database, for pipeline_status and the admin."""
    now = timezone.now()
    pending = IngestItem.objects.filter(outcome=Outcome.PENDING)
    claimed = pending.filter(claimed_until__gte=now)
    oldest = pending.aggregate(oldest=Min("created_at"))["oldest"]
    return {
        "pending": pending.count(),
        "waiting": pending.exclude(claimed_until__gte=now).count(),
        "claimed": claimed.count(),
        "expired": pending.filter(claimed_until__lt=now).count(),
        "never_queued": pending.filter(queued_at__isnull=True).count(),
        "failed": IngestItem.objects.filter(outcome=Outcome.FAILED).count(),
        "oldest_pending_seconds": (now - oldest).total_seconds() if oldest else None,
    }
