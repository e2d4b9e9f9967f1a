"""Writes for articles: upserting a parsed file, re-cleaning, curation.

The ingest sequence that calls ``article_upsert`` (inputs, runs, items, claims) lives in
``articles.ingest``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from urllib.parse import urlparse

from django.db import IntegrityError, transaction

from zhtext.keywords import keywords_json

from .canonical import canonical_url
from .cleaning import CleanResult, clean_article
from .models import Article, Author, IngestItem, Source
from .parsing import ParsedFile, ParseError, parse_article
from .policy import article_policy_mentions_sync
from .reposts import article_story_assign

logger = logging.getLogger(__name__)

UNKNOWN_SOURCE = "未知来源"
Outcome = IngestItem.Outcome


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
