"""Small factory for Article rows used by the search tests (text written for the tests)."""

from __future__ import annotations

import datetime
import hashlib
import itertools

from articles.models import Article, Author, Source, Tag

_seq = itertools.count(1)


def article_make(
    *,
    title: str,
    body: str = "",
    source: str = "测试来源",
    authors: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    published: datetime.date | None = datetime.date(2024, 5, 1),
    status: str = Article.Status.PUBLISHED,
    fetched_at: datetime.datetime | None = datetime.datetime(2024, 6, 1, 8, 0, tzinfo=datetime.UTC),
) -> Article:
    n = next(_seq)
    url = f"https://example.org/test/{n}"
    article = Article.objects.create(
        title=title,
        url=url,
        canonical_url=url,
        url_key=hashlib.sha256(url.encode()).hexdigest(),
        source=Source.objects.get_or_create(name=source)[0],
        published_on=published,
        fetched_at=fetched_at,
        summary=body[:40],
        raw_text=body,
        body_markdown=body,
        body_text=body,
        status=status,
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
    )
    if authors:
        article.authors.set([Author.objects.get_or_create(name=a)[0] for a in authors])
    if tags:
        article.tags.set([Tag.objects.get_or_create(name=t)[0] for t in tags])
    return article
