"""The ingest sequence, one for every way in: the command, the admin upload and the inbox.

1. ``ingest_run_start`` records a run and one item per input, holding its bytes (an archive
   stays whole). From here on nothing is lost: the database is the record of the work.
2. ``ingest_run_dispatch`` wakes workers for the pending items, a message per batch of files
   (broker mode; ``ingest_run_start(wake=True)`` already wakes each batch as it is recorded,
   so workers start while a large folder is still being read). Without a broker the
   caller works the run off itself with ``ingest_run_work`` — the command with a progress bar,
   the admin's run page in short steps.
3. ``ingest_item_process`` claims one item and does it: an article file is parsed, cleaned and
   upserted; an archive is unpacked into one item per article file, which join the run.

Items are claimed with a conditional update (``articles.pipeline``), so any number of workers,
redeliveries and sweeps can run this concurrently and each item is still done once.
"""

from __future__ import annotations

import io
import itertools
import logging
import os
import socket
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from functools import partial

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from zhtext.warm import analysis_warm

from . import pipeline
from .inputs import ArchiveError, InputFile, archive_members_iter
from .models import IngestItem, IngestRun
from .parsing import ParsedFile, ParseError, parse_article
from .services import (
    NewArticle,
    article_draft,
    article_draft_wanted,
    article_new,
    article_upsert,
    article_url_key_of,
    articles_create_batch,
    articles_stored,
    entries_sources,
)
from .signals import articles_changed_send, changes_batched

logger = logging.getLogger(__name__)

Outcome = IngestItem.Outcome
# Inputs and unpacked archive members written to the database per insert: at most this many
# bytes, and at most this many inputs (with ``wake``, the first workers start after that many).
ARCHIVE_BATCH_BYTES = 16 * 1024 * 1024
RECORD_BATCH_ITEMS = 200


# --- 1. record ------------------------------------------------------------------------------


def _item_from_input(*, run_id: int, parent_id: int | None, source: InputFile) -> IngestItem:
    """An unsaved item for one input; an input that could not be taken is failed at once, with its reason."""
    item = IngestItem(
        run_id=run_id, parent_id=parent_id, kind=source.kind, path=source.path, size=source.size
    )
    if source.error:
        item.outcome, item.reason, item.finished_at = Outcome.FAILED, source.error, timezone.now()
    else:
        item.raw = source.data
    return item


def ingest_run_start(
    *,
    trigger: str,
    sources: Iterable[InputFile],
    paths: list[str],
    user=None,
    on_item: Callable | None = None,
    wake: bool = False,
) -> IngestRun:
    """Record a run and an item per input, written a batch at a time. ``on_item`` is called
    after each input is read (for progress).

    ``wake``: with a broker, each batch is woken as soon as it is recorded, so the workers
    start on the first files while the rest are read. After a broker error the rest are
    only recorded; ``ingest_run_dispatch`` (or the sweep) sends them."""
    run = IngestRun.objects.create(trigger=trigger, paths=[str(p) for p in paths], created_by=user)
    waking = wake and not pipeline.tasks_inline()
    batch: list[IngestItem] = []
    held = 0
    for source in sources:
        batch.append(_item_from_input(run_id=run.pk, parent_id=None, source=source))
        held += source.size
        if on_item is not None:
            on_item()
        if len(batch) >= RECORD_BATCH_ITEMS or held >= ARCHIVE_BATCH_BYTES:
            waking = _items_record(items=batch, wake=waking)
            batch, held = [], 0
    if batch:
        _items_record(items=batch, wake=waking)
    return run


def _items_record(*, items: list[IngestItem], wake: bool) -> bool:
    """Insert the items; with ``wake``, wake the pending ones. False once the broker refused."""
    IngestItem.objects.bulk_create(items)
    if not wake:
        return False
    ids = [item.pk for item in items if item.outcome == Outcome.PENDING and item.pk is not None]
    return not (ids and pipeline.ingest_items_wake(item_ids=ids).error)


# --- 2. dispatch ----------------------------------------------------------------------------


def ingest_run_dispatch(*, run: IngestRun) -> pipeline.WakeResult | None:
    """Wake workers for the run's pending items not sent yet (broker mode); None without a
    broker (the caller works the run off)."""
    if pipeline.tasks_inline():
        return None
    ids = run.items.filter(outcome=Outcome.PENDING, queued_at__isnull=True).values_list("id", flat=True)
    return pipeline.ingest_items_wake(item_ids=list(ids))


def ingest_run_work(
    *,
    run: IngestRun,
    seconds: float | None = None,
    on_item: Callable[[str], None] | None = None,
    share: tuple[int, int] | None = None,
) -> int:
    """Process the run's pending items here, oldest first, until none is left or ``seconds`` pass.

    Archives unpack into more items of the run, which are taken next. Returns how many items
    were processed; stops early when the next item is claimed by someone else. ``share``
    (k, n): only the items whose id is k modulo n (one of n processes working the run).
    """
    deadline = None if seconds is None else time.monotonic() + seconds
    pending = run.items.filter(outcome=Outcome.PENDING)
    if share is not None:
        pending = pending.annotate(share=F("id") % share[1]).filter(share=share[0])
    done = 0
    while deadline is None or time.monotonic() < deadline:
        item_ids = list(pending.order_by("id").values_list("id", flat=True)[: settings.INGEST_BATCH_FILES])
        if not item_ids:
            break
        outcomes = ingest_items_process_batch(item_ids=item_ids)
        # what the batch did not take (archives, items someone else holds): one by one
        rest = (ingest_item_process(item_id=i, inline=True) for i in item_ids if i not in outcomes)
        for outcome in itertools.chain(outcomes.values(), rest):
            if outcome == "claimed":
                return done
            done += 1
            if on_item is not None:
                on_item(outcome)
    return done


def ingest_run_work_forked(*, run: IngestRun, jobs: int, on_item: Callable[[str], None] | None = None) -> int:
    """``ingest_run_work`` in ``jobs`` processes: this one and ``jobs - 1`` forks, each taking
    its share of the items (by id), so cleaning and analysis use every core. Returns how many
    items this process did (its share and what the others left).

    The forks only record their index changes; the caller's ``changes_batched`` wakes the
    index once for the whole run. Nothing depends on a fork finishing: an item a fork did not
    reach (it died, or an archive's members landed in its share after it stopped) is still
    pending when the forks are gone, its claim is released and this process takes it.
    """
    if jobs <= 1 or not hasattr(os, "fork") or connections["default"].in_atomic_block:
        # (inside a transaction the connection cannot be closed for the fork: work it off here)
        return ingest_run_work(run=run, on_item=on_item)
    # Loaded once here and shared copy-on-write, rather than built in every fork.
    analysis_warm()
    connections.close_all()  # a connection must never be shared across a fork
    pids: list[int] = []
    for share in range(1, jobs):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the fork; measured by the tests' outcome
            _fork_work(run_id=run.pk, share=(share, jobs))
        pids.append(pid)
    done = 0
    try:
        done += ingest_run_work(run=run, on_item=on_item, share=(0, jobs))
    finally:
        for pid in pids:
            _pid, status = os.waitpid(pid, 0)
            if status:
                logger.warning("ingest fork %s ended with status %s; its items are taken here", pid, status)
    host = socket.gethostname()
    IngestItem.objects.filter(
        run=run, outcome=Outcome.PENDING, claimed_by__in=[f"{host}/{pid}" for pid in pids]
    ).update(claim_token="", claimed_by="", claimed_until=None)
    done += ingest_run_work(run=run, on_item=on_item)
    # The forks' changes are recorded; one wake-up (at the caller's batch end) for all of them.
    written = run.items.filter(outcome__in=[Outcome.CREATED, Outcome.UPDATED]).exclude(article=None)
    articles_changed_send(ids=written.values_list("article_id", flat=True))
    return done


def _fork_work(*, run_id: int, share: tuple[int, int]) -> None:
    code = 0
    try:
        with changes_batched(wake=False):
            ingest_run_work(run=IngestRun.objects.get(pk=run_id), share=share)
    except BaseException:
        logger.exception("ingest fork for share %s of run %s failed", share, run_id)
        code = 1
    finally:
        connections.close_all()
        os._exit(code)


# --- 3. process -----------------------------------------------------------------------------


class ClaimLost(Exception):
    """The item's claim passed to another worker while this one was busy (its lease ran out)."""


def _item_finish(*, item_id: int, token: str, **fields) -> None:
    """Record the result, but only while this worker still holds the claim."""
    finished = IngestItem.objects.filter(pk=item_id, outcome=Outcome.PENDING, claim_token=token).update(
        finished_at=timezone.now(), claim_token="", claimed_until=None, **fields
    )
    if not finished:
        raise ClaimLost


def _items_finish_created(*, token: str, results: list[tuple[int, str, int]]) -> None:
    """``_item_finish`` for many created articles' items, (item id, notes, article id), in
    one statement, only while this worker still holds every one of them (else ``ClaimLost``:
    the caller's transaction is rolled back). Call inside the transaction that created the
    articles.

    (One ``CASE`` per varying column, written out: Django's ``bulk_update`` builds an
    expression per row and column, which cost more than the fifty updates it replaced.)"""
    if not results:
        return
    meta, quote = IngestItem._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    cases: list[str] = []
    params: list[object] = []
    for field, position in (("article", 2), ("reason", 1)):
        column = quote(meta.get_field(field).column)
        cases.append(f"{column} = CASE id {' '.join(['WHEN %s THEN %s'] * len(results))} END")
        for row in results:
            params.extend((row[0], row[position]))
    ids = [row[0] for row in results]
    sql = (
        f"UPDATE {table} SET {', '.join(cases)}, outcome = %s, finished_at = %s,"
        f" claim_token = '', claimed_until = NULL"
        f" WHERE id IN ({', '.join(['%s'] * len(ids))}) AND outcome = %s AND claim_token = %s"
    )
    params.extend((Outcome.CREATED, timezone.now(), *ids, Outcome.PENDING, token))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(ids):
            raise ClaimLost


def ingest_item_process(*, item_id: int, token: str = "", worker: str = "", inline: bool = False) -> str:
    """Claim and process one pending item: parse, clean, upsert (or unpack an archive).

    Idempotent: an item that is finished, or claimed by another live worker, is left alone
    and its current state returned ("claimed" for the latter). ``token`` identifies this
    delivery of the work: a message delivered again after its worker died passes the same
    token and takes the claim over. Bad input ends as a failed item with its reason; anything
    else (database errors, bugs) propagates so the caller can retry, leaving the item pending
    and stored articles intact. ``inline``: the caller works the run off itself, so the members
    of an unpacked archive are not sent to the workers.
    """
    token = token or uuid.uuid4().hex
    if not pipeline.ingest_item_claim(item_id=item_id, token=token, worker=worker or pipeline.worker_label()):
        state = IngestItem.objects.filter(pk=item_id).values_list("outcome", flat=True).first()
        return "claimed" if state == Outcome.PENDING else (state or Outcome.FAILED)
    item = IngestItem.objects.defer("raw").get(pk=item_id)
    try:
        if item.attempts > settings.INGEST_MAX_ATTEMPTS:
            # Earlier attempts died with their process (the task never returned): a file that
            # kills its worker must not be handed out forever.
            _item_finish(
                item_id=item_id,
                token=token,
                outcome=Outcome.FAILED,
                reason=f"已尝试 {item.attempts - 1} 次，处理进程每次都意外退出（可能是内存不足），已停止重试",
            )
            return Outcome.FAILED
        if item.kind == IngestItem.Kind.ARCHIVE:
            return _archive_expand(item=item, token=token, wake_members=not inline)
        return _file_process(item_id=item_id, token=token)
    except ClaimLost:
        logger.warning("ingest item %s: claim passed to another worker; its result is theirs", item_id)
        return "claimed"


def ingest_item_work(*, item_id: int, token: str, worker: str, batch: list[int] | None = None) -> str:
    """A worker's task: the item it was woken for and the rest of its message's ``batch``,
    claimed and written together. A message without a batch (sent by an earlier version)
    takes the next pending article files of its run nobody holds
    (``pipeline.ingest_batch_ids``). Items the batch does not take (archives, files past
    their attempts, items another worker holds) are then taken one by one, so every item a
    message names ends done or in someone else's hands. Returns the woken item's outcome."""
    if batch is None:
        ids = pipeline.ingest_batch_ids(item_id=item_id, token=token, limit=settings.INGEST_BATCH_FILES)
    else:
        ids = [item_id, *(i for i in batch if i != item_id)]
    outcomes = ingest_items_process_batch(item_ids=ids, token=token, worker=worker)
    for other in ids:
        if other not in outcomes:
            outcomes[other] = ingest_item_process(item_id=other, token=token, worker=worker)
    return outcomes[item_id]


def ingest_items_process_batch(*, item_ids: list[int], token: str = "", worker: str = "") -> dict[int, str]:
    """Claim and process many pending article-file items together; returns their outcomes.

    The items are claimed in one statement and drafted (parsed, cleaned, analysed) one by one
    outside any transaction; the files whose article is new are then created together in one
    transaction with their items' results (``articles_create_batch``). A file whose article
    exists (an update, a repeat within the batch) or that a concurrent worker stored meanwhile
    goes through ``_file_process``, under the same claim. Items left out (archives, items
    past their attempts, items someone else holds) are not in the answer: the caller takes
    them one by one. Same guarantees as ``ingest_item_process``: a claim lost meanwhile
    writes nothing, and an error leaves the items pending for a retry.
    """
    token = token or uuid.uuid4().hex
    taken = pipeline.ingest_items_claim(
        item_ids=item_ids,
        token=token,
        worker=worker or pipeline.worker_label(),
        kind=IngestItem.Kind.FILE,
        max_attempts=settings.INGEST_MAX_ATTEMPTS,
    )
    if not taken:
        return {}
    raws = dict(IngestItem.objects.filter(pk__in=taken).values_list("id", "raw"))
    outcomes: dict[int, str] = {}
    fresh: list[tuple[int, NewArticle]] = []
    failed: list[tuple[int, str]] = []
    alone: list[int] = []
    keys_seen: set[str] = set()
    parsed_files: dict[int, ParsedFile] = {}
    for item_id in sorted(taken):
        try:
            parsed_files[item_id] = parse_article(
                data=bytes(raws[item_id]), max_bytes=settings.INGEST_MAX_FILE_BYTES
            )
        except ParseError as exc:
            failed.append((item_id, str(exc)))
    keys = {item_id: article_url_key_of(parsed=parsed) for item_id, parsed in parsed_files.items()}
    stored = articles_stored(url_keys=keys.values())
    for item_id, parsed in parsed_files.items():
        key = keys[item_id]
        if key in stored or key in keys_seen:
            alone.append(item_id)  # an update, or a second file of one article: the upsert decides
            continue
        keys_seen.add(key)
        try:
            fresh.append(
                (item_id, article_new(parsed=parsed, draft=article_draft(parsed=parsed), url_key=key))
            )
        except ParseError as exc:
            failed.append((item_id, str(exc)))
    sources = None
    if fresh:
        try:
            with transaction.atomic():  # (committed at once, before the batch's transaction)
                sources = entries_sources(entries=[entry for _item_id, entry in fresh])
        except DatabaseError:
            logger.info("ingest batch %s: sources left to the batch", token, exc_info=True)
    try:
        with transaction.atomic():
            for item_id, reason in failed:
                _item_finish(item_id=item_id, token=token, outcome=Outcome.FAILED, reason=reason)
                outcomes[item_id] = Outcome.FAILED
            try:
                with transaction.atomic():
                    articles = articles_create_batch(
                        entries=[entry for _item_id, entry in fresh], sources=sources
                    )
            except DatabaseError:
                # Another worker stored one of these articles meanwhile (IntegrityError), or
                # one file's row is refused: file by file instead, so that a file that fails
                # fails alone and the others are stored.
                logger.info("ingest batch %s: written file by file", token, exc_info=True)
                alone.extend(item_id for item_id, _entry in fresh)
                fresh = []
                articles = []
            _items_finish_created(
                token=token,
                results=[
                    (item_id, _notes_join(entry.parsed.warnings, entry.draft.cleaned.warnings), article.pk)
                    for (item_id, entry), article in zip(fresh, articles, strict=True)
                ],
            )
            outcomes.update((item_id, Outcome.CREATED) for item_id, _entry in fresh)
    except ClaimLost:
        logger.warning("ingest batch %s: claims passed to another worker; their results are theirs", token)
        return dict.fromkeys(taken, "claimed")
    for item_id in sorted(alone):
        try:
            outcomes[item_id] = _file_process(item_id=item_id, token=token)
        except ClaimLost:
            outcomes[item_id] = "claimed"
    return outcomes


def _notes_join(*groups: Iterable[str]) -> str:
    # Parsing and cleaning may both note the same thing (control characters removed): once is enough.
    return "；".join(dict.fromkeys(note for group in groups for note in group if note))


def _file_process(*, item_id: int, token: str) -> str:
    raw = IngestItem.objects.filter(pk=item_id).values_list("raw", flat=True).get()
    try:
        parsed = parse_article(data=bytes(raw), max_bytes=settings.INGEST_MAX_FILE_BYTES)
    except ParseError as exc:
        _item_finish(item_id=item_id, token=token, outcome=Outcome.FAILED, reason=str(exc))
        return Outcome.FAILED
    # Cleaning and analysis before the transaction: the write lock is held only for writes.
    draft = draft_error = None
    try:
        if article_draft_wanted(parsed=parsed):
            draft = article_draft(parsed=parsed)
    except ParseError as exc:
        draft_error = exc
    with transaction.atomic():
        try:
            if draft_error is not None:
                raise draft_error
            with transaction.atomic():
                article, outcome, note = article_upsert(parsed=parsed, draft=draft)
        except ParseError as exc:
            article, outcome, note = None, Outcome.FAILED, str(exc)
        else:
            note = _notes_join(parsed.warnings, note.split("；") if note else ())
        # In the same transaction as the article: if the claim was lost, nothing is written.
        _item_finish(item_id=item_id, token=token, outcome=outcome, reason=note, article=article)
    return outcome


def _archive_expand(*, item: IngestItem, token: str, wake_members: bool) -> str:
    """Unpack an archive item into one item per article file, in one transaction with its result."""
    raw = IngestItem.objects.filter(pk=item.pk).values_list("raw", flat=True).get()
    opener = partial(zipfile.ZipFile, io.BytesIO(bytes(raw)))
    try:
        with transaction.atomic():
            count = held = 0
            batch: list[IngestItem] = []
            for source in archive_members_iter(opener=opener, label=item.path):
                batch.append(_item_from_input(run_id=item.run_id, parent_id=item.pk, source=source))
                count += 1
                held += len(source.data)
                # Members hold their bytes: write them out before many megabytes pile up.
                if len(batch) >= 100 or held >= ARCHIVE_BATCH_BYTES:
                    IngestItem.objects.bulk_create(batch)
                    batch, held = [], 0
            IngestItem.objects.bulk_create(batch)
            outcome = Outcome.EXPANDED if count else Outcome.FAILED
            reason = f"共 {count} 个文章文件" if count else "压缩包里没有 .md 文件"
            _item_finish(item_id=item.pk, token=token, outcome=outcome, reason=reason)
    except ArchiveError as exc:
        # Raised before any member was read: the archive as a whole is refused.
        _item_finish(item_id=item.pk, token=token, outcome=Outcome.FAILED, reason=str(exc))
        return Outcome.FAILED
    if wake_members and not pipeline.tasks_inline():
        members = item.members.filter(outcome=Outcome.PENDING).values_list("id", flat=True)
        pipeline.ingest_items_wake(item_ids=list(members))
    return outcome


# --- failures -------------------------------------------------------------------------------


def ingest_item_fail(*, item_id: int, reason: str) -> None:
    """Give up on an item after repeated internal errors, keeping its raw bytes for a later retry."""
    IngestItem.objects.filter(id=item_id, outcome=Outcome.PENDING).update(
        outcome=Outcome.FAILED, reason=reason, finished_at=timezone.now(), claim_token="", claimed_until=None
    )


def ingest_items_reset(*, item_ids: Iterable[int]) -> list[int]:
    """Make failed items with stored bytes pending again, e.g. after a cleaning rule was fixed."""
    ids = list(
        IngestItem.objects.filter(id__in=list(item_ids), outcome=Outcome.FAILED)
        .exclude(raw=b"")
        .values_list("id", flat=True)
    )
    IngestItem.objects.filter(id__in=ids).update(
        outcome=Outcome.PENDING,
        reason="",
        finished_at=None,
        attempts=0,
        queued_at=None,
        claim_token="",
        claimed_by="",
        claimed_until=None,
    )
    return ids
