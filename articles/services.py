"""Writes for articles and their ingest: reading input files, upserting articles, re-cleaning.

Every file that enters an ingest run becomes an IngestItem holding its bytes, so a worker on
another machine can process it, and a failed file is never lost: it keeps its reason and its
raw input and can be reprocessed once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from search.keywords import keywords_json

from .canonical import canonical_url
from .cleaning import CleanResult, clean_article
from .models import Article, Author, IngestItem, IngestRun, Source
from .parsing import ParsedFile, ParseError, parse_article
from .policy import article_policy_mentions_sync
from .reposts import article_story_assign

logger = logging.getLogger(__name__)

ARTICLE_SUFFIXES = {".md", ".markdown"}
ARCHIVE_SUFFIXES = {".zip"}
UNKNOWN_SOURCE = "未知来源"
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


def _zip_members(*, archive: zipfile.ZipFile, label: str) -> Iterator[InputFile]:
    members = sorted(
        (
            m
            for m in archive.infolist()
            if not m.is_dir() and Path(m.filename).suffix.lower() in ARTICLE_SUFFIXES
        ),
        key=lambda m: m.filename,
    )
    for member in members:
        member_label = f"{label}!{member.filename}"
        # file_size comes from the archive's own header; checking it first keeps a
        # zip bomb from being inflated into memory.
        if member.file_size > settings.INGEST_MAX_FILE_BYTES:
            yield InputFile(path=member_label, size=member.file_size, error=_size_error(member.file_size))
            continue
        try:
            data = archive.read(member)
        except (zipfile.BadZipFile, OSError, RuntimeError, zlib.error) as exc:
            yield InputFile(path=member_label, error=f"压缩包内文件损坏，无法解压：{exc}")
            continue
        yield InputFile(path=member_label, data=data, size=len(data))


def _read_zip(*, opener: Callable[[], zipfile.ZipFile], label: str) -> Iterator[InputFile]:
    try:
        archive = opener()
    except (zipfile.BadZipFile, OSError) as exc:
        yield InputFile(path=label, error=f"不是有效的 zip 压缩包：{exc}")
        return
    with archive:
        yield from _zip_members(archive=archive, label=label)


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


def uploaded_inputs_iter(*, name: str, data: bytes) -> Iterator[InputFile]:
    """The same as ingest_inputs_iter for a file uploaded through the admin."""
    label = f"上传：{name}"
    if Path(name).suffix.lower() in ARCHIVE_SUFFIXES:
        yield from _read_zip(opener=partial(zipfile.ZipFile, io.BytesIO(data)), label=label)
    elif len(data) > settings.INGEST_MAX_FILE_BYTES:
        yield InputFile(path=label, size=len(data), error=_size_error(len(data)))
    else:
        yield InputFile(path=label, data=data, size=len(data))


def ingest_run_create(*, trigger: str, paths: list[str], user=None) -> IngestRun:
    return IngestRun.objects.create(trigger=trigger, paths=[str(p) for p in paths], created_by=user)


def ingest_item_add(*, run: IngestRun, source: InputFile) -> IngestItem:
    """Record one input file. Unreadable inputs are recorded as failed at once, with their reason."""
    if source.error:
        return IngestItem.objects.create(
            run=run,
            path=source.path,
            size=source.size,
            outcome=Outcome.FAILED,
            reason=source.error,
            finished_at=timezone.now(),
        )
    return IngestItem.objects.create(run=run, path=source.path, raw=source.data, size=source.size)


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


def ingest_item_process(*, item_id: int) -> str:
    """Process one pending item: parse, clean, upsert. Idempotent: a finished item is left alone.

    Bad input ends as a failed item with its reason; anything else (database errors, bugs)
    propagates so the caller can retry, leaving the item pending and stored articles intact.
    """
    with transaction.atomic():
        item = IngestItem.objects.select_for_update().filter(id=item_id).first()
        if item is None or item.outcome != Outcome.PENDING:
            return item.outcome if item else Outcome.FAILED
        IngestItem.objects.filter(id=item_id).update(attempts=F("attempts") + 1)
        try:
            parsed = parse_article(data=bytes(item.raw), max_bytes=settings.INGEST_MAX_FILE_BYTES)
            with transaction.atomic():
                article, outcome, note = article_upsert(parsed=parsed)
        except ParseError as exc:
            article, outcome, note = None, Outcome.FAILED, str(exc)
        else:
            # Parsing and cleaning may both note the same thing (control characters removed): once is enough.
            notes = [*parsed.warnings, *(note.split("；") if note else ())]
            note = "；".join(dict.fromkeys(notes))
        IngestItem.objects.filter(id=item_id).update(
            outcome=outcome, reason=note, article=article, finished_at=timezone.now()
        )
    return outcome


def ingest_item_fail(*, item_id: int, reason: str) -> None:
    """Give up on an item after repeated internal errors, keeping its raw bytes for a later retry."""
    IngestItem.objects.filter(id=item_id, outcome=Outcome.PENDING).update(
        outcome=Outcome.FAILED, reason=reason, finished_at=timezone.now()
    )


def ingest_items_reset(*, item_ids: Iterable[int]) -> list[int]:
    """Put failed items with stored bytes back in the queue, e.g. after a cleaning rule was fixed."""
    ids = list(
        IngestItem.objects.filter(id__in=list(item_ids), outcome=Outcome.FAILED)
        .exclude(raw=b"")
        .values_list("id", flat=True)
    )
    IngestItem.objects.filter(id__in=ids).update(outcome=Outcome.PENDING, reason="", finished_at=None)
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


def ingest_item_enqueue(*, item_id: int) -> None:
    """Queue an item once the transaction that created it commits, so the worker can see it."""
    from .tasks import ingest_item

    transaction.on_commit(partial(ingest_item.delay, item_id))


def ingest_run_process_inline(*, run: IngestRun) -> None:
    for item_id in run.items.filter(outcome=Outcome.PENDING).values_list("id", flat=True):
        ingest_item_process(item_id=item_id)


def run_article_ids(*, run: IngestRun) -> list[int]:
    """Articles a run created or updated."""
    return list(
        run.items.filter(outcome__in=[Outcome.CREATED, Outcome.UPDATED], article__isnull=False)
        .values_list("article_id", flat=True)
        .distinct()
    )
