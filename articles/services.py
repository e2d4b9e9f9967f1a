"""Writes for articles and their ingest: reading input files, upserting articles, re-cleaning.

Every file that enters an ingest run becomes an IngestItem holding its bytes, so a worker on
another machine can process it, and a failed file is never lost: it keeps its reason and its
raw input and can be reprocessed once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from search.keywords import keywords_json

from . import pipeline
from .canonical import canonical_url
from .cleaning import CleanResult, clean_article
from .models import Article, Author, IngestItem, IngestRun, Source
from .parsing import ParsedFile, ParseError, parse_article, size_describe
from .policy import article_policy_mentions_sync
from .reposts import article_story_assign

logger = logging.getLogger(__name__)

ARTICLE_SUFFIXES = {".md", ".markdown"}
ARCHIVE_SUFFIXES = {".zip"}
UNKNOWN_SOURCE = "未知来源"
# Unpacked archive members written to the database per insert, at most this many bytes.
ARCHIVE_BATCH_BYTES = 16 * 1024 * 1024
Outcome = IngestItem.Outcome


@dataclass(frozen=True)
class InputFile:
    """One file found for ingest: its bytes, or the reason it could not be read."""

    path: str
    data: bytes = b""
    size: int = 0
    error: str = ""


def _size_error(size: int) -> str:
    limit = settings.INGEST_MAX_FILE_BYTES
    return f"文件过大（{size / 1024 / 1024:.1f} MB），超过单个文件上限 {limit / 1024 / 1024:.1f} MB"


def _read_file(path: Path) -> InputFile:
    try:
        size = path.stat().st_size
        if size > settings.INGEST_MAX_FILE_BYTES:
            return InputFile(path=str(path), size=size, error=_size_error(size))
        data = path.read_bytes()
    except OSError as exc:
        return InputFile(path=str(path), error=f"无法读取文件：{exc.strerror or exc}")
    return InputFile(path=str(path), data=data, size=len(data))


class ArchiveError(Exception):
    """An archive that cannot be unpacked at all; ``str()`` is the plain-Chinese reason."""


def _archive_limits_error(*, count: int, total: int) -> str:
    if count > settings.INGEST_MAX_ARCHIVE_MEMBERS:
        return (
            f"压缩包内有 {count} 个文章文件，超过上限 {settings.INGEST_MAX_ARCHIVE_MEMBERS} 个，"
            "未解压；请拆成几个较小的压缩包再导入"
        )
    if total > settings.INGEST_MAX_ARCHIVE_TOTAL_BYTES:
        return (
            f"压缩包解压后共 {size_describe(size=total)}，超过上限 "
            f"{size_describe(size=settings.INGEST_MAX_ARCHIVE_TOTAL_BYTES)}，未解压；请拆成几个较小的压缩包再导入"
        )
    return ""


def archive_members_iter(*, opener: Callable[[], zipfile.ZipFile], label: str) -> Iterator[InputFile]:
    """Every article file in a .zip, one ``InputFile`` each (with its reason when it cannot be read).

    The limits are checked against the archive's own directory before anything is inflated,
    so a small archive that unpacks to gigabytes costs nothing: over the member limit it is
    refused as a whole (``ArchiveError``); over the total-size limit every member is reported
    with the reason. A member is never inflated past its declared size (zipfile stops there
    and checks the CRC), and is read with a bound all the same.
    """
    try:
        archive = opener()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveError(f"不是有效的 zip 压缩包：{exc}") from exc
    with archive:
        members = sorted(
            (
                m
                for m in archive.infolist()
                if not m.is_dir() and Path(m.filename).suffix.lower() in ARTICLE_SUFFIXES
            ),
            key=lambda m: m.filename,
        )
        total = sum(m.file_size for m in members)
        if len(members) > settings.INGEST_MAX_ARCHIVE_MEMBERS:
            raise ArchiveError(_archive_limits_error(count=len(members), total=total))
        whole_error = _archive_limits_error(count=len(members), total=total)
        limit = settings.INGEST_MAX_FILE_BYTES
        for member in members:
            member_label = f"{label}!{member.filename}"
            if whole_error:
                yield InputFile(path=member_label, size=member.file_size, error=whole_error)
                continue
            if member.file_size > limit:
                yield InputFile(path=member_label, size=member.file_size, error=_size_error(member.file_size))
                continue
            try:
                with archive.open(member) as handle:
                    data = handle.read(limit + 1)
            except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError, zlib.error) as exc:
                yield InputFile(path=member_label, error=f"压缩包内文件损坏，无法解压：{exc}")
                continue
            if len(data) > limit:
                yield InputFile(path=member_label, size=len(data), error=_size_error(len(data)))
                continue
            yield InputFile(path=member_label, data=data, size=len(data))


def _read_zip(*, opener: Callable[[], zipfile.ZipFile], label: str) -> Iterator[InputFile]:
    try:
        yield from archive_members_iter(opener=opener, label=label)
    except ArchiveError as exc:
        yield InputFile(path=label, error=str(exc))


def ingest_inputs_iter(*, paths: Iterable[str | Path]) -> Iterator[InputFile]:
    """Yield every article file under the given files, folders and .zip archives, in a stable order."""
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES | ARCHIVE_SUFFIXES
            )
            for child in found:
                yield from ingest_inputs_iter(paths=[child])
        elif path.is_file() and path.suffix.lower() in ARCHIVE_SUFFIXES:
            yield from _read_zip(opener=partial(zipfile.ZipFile, path), label=str(path))
        elif path.is_file():
            yield _read_file(path)
        else:
            yield InputFile(path=str(path), error="路径不存在")


def ingest_run_create(*, trigger: str, paths: list[str], user=None) -> IngestRun:
    return IngestRun.objects.create(trigger=trigger, paths=[str(p) for p in paths], created_by=user)


def ingest_item_add(*, run: IngestRun, source: InputFile) -> IngestItem:
    """Record one input file. Unreadable inputs are recorded as failed at once, with their reason."""
    item = _item_from_input(run_id=run.pk, parent_id=None, source=source)
    item.save()
    return item


def ingest_upload_add(*, run: IngestRun, name: str, size: int, read: Callable[[], bytes]) -> IngestItem:
    """Record one uploaded file as it is: an archive is unpacked later, by a worker.

    ``read`` is only called when the size is within the limit, so an oversized upload is
    never read into memory.
    """
    label = f"上传：{name}"
    if Path(name).suffix.lower() in ARCHIVE_SUFFIXES:
        if size > settings.INGEST_MAX_UPLOAD_BYTES:
            error = (
                f"压缩包过大（{size_describe(size=size)}），超过上传上限 "
                f"{size_describe(size=settings.INGEST_MAX_UPLOAD_BYTES)}；请拆成几个较小的压缩包"
            )
            return ingest_item_add(run=run, source=InputFile(path=label, size=size, error=error))
        data = read()
        return IngestItem.objects.create(
            run=run, kind=IngestItem.Kind.ARCHIVE, path=label, raw=data, size=len(data)
        )
    if size > settings.INGEST_MAX_FILE_BYTES:
        return ingest_item_add(run=run, source=InputFile(path=label, size=size, error=_size_error(size)))
    data = read()
    return ingest_item_add(run=run, source=InputFile(path=label, data=data, size=len(data)))


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def article_url_key(*, parsed: ParsedFile, source_name: str) -> tuple[str, str]:
    """(canonical URL, identity key). Without a URL the identity is source + title + date."""
    canonical = canonical_url(parsed.url) if parsed.url else ""
    if canonical:
        return canonical, _sha256(canonical)
    published = parsed.published.isoformat() if parsed.published else ""
    return "", _sha256(f"nourl|{source_name}|{parsed.title.strip()}|{published}")


def _source_name(parsed: ParsedFile) -> str:
    if parsed.source.strip():
        return parsed.source.strip()[:200]
    return UNKNOWN_SOURCE


def _article_fields(*, parsed: ParsedFile, cleaned: CleanResult, canonical: str) -> dict:
    return {
        "title": parsed.title.strip()[:500],
        "url": parsed.url,
        "canonical_url": canonical,
        "published_on": parsed.published,
        "fetched_at": parsed.fetched_at,
        "raw_text": parsed.text,
        "body_markdown": cleaned.body_markdown,
        "body_text": cleaned.body_text,
        "summary": cleaned.summary,
        "cover_image": cleaned.cover_image,
        "attribution": cleaned.attribution[:300],
        "content_hash": _sha256(parsed.text),
    }


def _authors_set(*, article: Article, names: Iterable[str]) -> None:
    authors = []
    for name in dict.fromkeys(n.strip()[:100] for n in names if n.strip()):
        author, _ = Author.objects.get_or_create(name=name)
        authors.append(author)
    article.authors.set(authors)


def _article_links_sync(*, article: Article, cleaned: CleanResult) -> None:
    """What hangs off a stored body: its authors, the policy documents it mentions, its story."""
    _authors_set(article=article, names=cleaned.authors)
    article_policy_mentions_sync(article=article)
    article_story_assign(article=article)


def article_upsert(*, parsed: ParsedFile) -> tuple[Article, str, str]:
    """Create or update the article a parsed file describes. Returns (article, outcome, note).

    Curation (status, featured flag, tags) is never touched by a re-ingest. An older crawl of
    an article we already hold does not overwrite the newer one.
    """
    source_name = _source_name(parsed)
    canonical, key = article_url_key(parsed=parsed, source_name=source_name)
    content_hash = _sha256(parsed.text)
    existing = Article.objects.select_for_update().filter(url_key=key).first()
    if existing is not None and existing.content_hash == content_hash:
        return existing, Outcome.UNCHANGED, ""
    if (
        existing is not None
        and existing.fetched_at
        and parsed.fetched_at
        and parsed.fetched_at < existing.fetched_at
    ):
        return existing, Outcome.UNCHANGED, "已有更新的抓取版本，保留已存内容"

    cleaned = clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=source_name)
    if not cleaned.body_text.strip():
        raise ParseError("清洗后正文为空（全部是网站模板内容）")
    host = urlparse(parsed.url).hostname or ""
    source, _ = Source.objects.get_or_create(name=source_name, defaults={"site": host})
    fields = _article_fields(parsed=parsed, cleaned=cleaned, canonical=canonical)
    fields["keywords"] = keywords_json(title=fields["title"], text=fields["body_text"])

    if existing is None:
        try:
            with transaction.atomic():
                article = Article.objects.create(url_key=key, source=source, **fields)
            outcome = Outcome.CREATED
        except IntegrityError:
            # Another worker created the same article a moment ago; update it instead.
            article = Article.objects.select_for_update().get(url_key=key)
            outcome = Outcome.UPDATED
    else:
        article = existing
        outcome = Outcome.UPDATED
    if outcome == Outcome.UPDATED:
        for name, value in fields.items():
            setattr(article, name, value)
        article.source = source
        article.save()
    _article_links_sync(article=article, cleaned=cleaned)
    return article, outcome, "；".join(cleaned.warnings)


class ClaimLost(Exception):
    """The item's claim passed to another worker while this one was busy (its lease ran out)."""


def _item_finish(*, item_id: int, token: str, **fields) -> None:
    """Record the result, but only while this worker still holds the claim."""
    finished = IngestItem.objects.filter(pk=item_id, outcome=Outcome.PENDING, claim_token=token).update(
        finished_at=timezone.now(), claim_token="", claimed_until=None, **fields
    )
    if not finished:
        raise ClaimLost


def ingest_item_process(*, item_id: int, token: str = "", worker: str = "") -> str:
    """Claim and process one pending item: parse, clean, upsert (or unpack an archive).

    Idempotent: an item that is finished, or claimed by another live worker, is left alone
    and its current state returned ("claimed" for the latter). ``token`` identifies this
    delivery of the work: a message delivered again after its worker died passes the same
    token and takes the claim over. Bad input ends as a failed item with its reason; anything
    else (database errors, bugs) propagates so the caller can retry, leaving the item pending
    and stored articles intact.
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
            return _archive_expand(item=item, token=token)
        return _file_process(item_id=item_id, token=token)
    except ClaimLost:
        logger.warning("ingest item %s: claim passed to another worker; its result is theirs", item_id)
        return "claimed"


def _file_process(*, item_id: int, token: str) -> str:
    raw = IngestItem.objects.filter(pk=item_id).values_list("raw", flat=True).get()
    try:
        parsed = parse_article(data=bytes(raw), max_bytes=settings.INGEST_MAX_FILE_BYTES)
    except ParseError as exc:
        _item_finish(item_id=item_id, token=token, outcome=Outcome.FAILED, reason=str(exc))
        return Outcome.FAILED
    with transaction.atomic():
        try:
            with transaction.atomic():
                article, outcome, note = article_upsert(parsed=parsed)
        except ParseError as exc:
            article, outcome, note = None, Outcome.FAILED, str(exc)
        else:
            # Parsing and cleaning may both note the same thing (control characters removed): once is enough.
            notes = [*parsed.warnings, *(note.split("；") if note else ())]
            note = "；".join(dict.fromkeys(notes))
        # In the same transaction as the article: if the claim was lost, nothing is written.
        _item_finish(item_id=item_id, token=token, outcome=outcome, reason=note, article=article)
    return outcome


def _archive_expand(*, item: IngestItem, token: str) -> str:
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
    members = list(item.members.filter(outcome=Outcome.PENDING).values_list("id", flat=True))
    if members and not pipeline.tasks_inline():
        pipeline.ingest_items_wake(item_ids=members)
    return outcome


def _item_from_input(*, run_id: int, parent_id: int | None, source: InputFile) -> IngestItem:
    """An unsaved item for one input file; unreadable inputs are failed at once, with their reason."""
    if source.error:
        return IngestItem(
            run_id=run_id,
            parent_id=parent_id,
            path=source.path,
            size=source.size,
            outcome=Outcome.FAILED,
            reason=source.error,
            finished_at=timezone.now(),
        )
    return IngestItem(run_id=run_id, parent_id=parent_id, path=source.path, raw=source.data, size=source.size)


def ingest_run_step(*, run: IngestRun, seconds: float) -> int:
    """Inline mode: process the run's pending items for about ``seconds``; returns how many."""
    deadline = time.monotonic() + seconds
    done = 0
    while time.monotonic() < deadline:
        item_id = (
            run.items.filter(outcome=Outcome.PENDING).order_by("id").values_list("id", flat=True).first()
        )
        if item_id is None:
            break
        if ingest_item_process(item_id=item_id) == "claimed":
            break  # someone else is on it; the page asks again shortly
        done += 1
    return done


def ingest_item_fail(*, item_id: int, reason: str) -> None:
    """Give up on an item after repeated internal errors, keeping its raw bytes for a later retry."""
    IngestItem.objects.filter(id=item_id, outcome=Outcome.PENDING).update(
        outcome=Outcome.FAILED, reason=reason, finished_at=timezone.now(), claim_token="", claimed_until=None
    )


def ingest_items_reset(*, item_ids: Iterable[int]) -> list[int]:
    """Put failed items with stored bytes back in the queue, e.g. after a cleaning rule was fixed."""
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


def article_reclean(*, article_id: int) -> bool:
    """Re-run parsing and cleaning on the stored raw text. Returns whether the article changed."""
    with transaction.atomic():
        article = Article.objects.select_for_update().filter(id=article_id).first()
        if article is None:
            return False
        parsed = parse_article(data=article.raw_text.encode("utf-8"))
        cleaned = clean_article(
            markdown=parsed.body, url=parsed.url, title=parsed.title, source=article.source.name
        )
        fields = _article_fields(parsed=parsed, cleaned=cleaned, canonical=article.canonical_url)
        # Keep the identity and the raw text exactly as first stored.
        for kept in ("url", "canonical_url", "raw_text", "content_hash", "title"):
            fields.pop(kept)
        fields["keywords"] = keywords_json(title=article.title, text=fields["body_text"])
        changed = any(getattr(article, name) != value for name, value in fields.items())
        if changed:
            for name, value in fields.items():
                setattr(article, name, value)
            article.save()
        _article_links_sync(article=article, cleaned=cleaned)
    return changed


def articles_status_set(*, article_ids: Iterable[int], status: str) -> int:
    """Publish or hide. Saves row by row so the search index hears about each change."""
    count = 0
    for article in Article.objects.filter(id__in=list(article_ids)).exclude(status=status):
        article.status = status
        article.save(update_fields=["status", "updated_at"])
        count += 1
    return count


def articles_featured_set(*, article_ids: Iterable[int], featured: bool) -> int:
    count = 0
    for article in Article.objects.filter(id__in=list(article_ids)).exclude(featured=featured):
        article.featured = featured
        article.save(update_fields=["featured", "updated_at"])
        count += 1
    return count


def run_article_ids(*, run: IngestRun) -> list[int]:
    """Articles a run created or updated."""
    return list(
        run.items.filter(outcome__in=[Outcome.CREATED, Outcome.UPDATED], article__isnull=False)
        .values_list("article_id", flat=True)
        .distinct()
    )
