"""Reads of published content for the pages: home page blocks, source, author and month archive pages.

Each function is one query (or one cached computation) so the pages stay at a fixed number
of queries however many articles there are. "Recent" is measured from a reference day:
today, or the newest article's date when the collection stopped growing a while ago (a
demo or an archived crawl), so "this week" still shows something and the page says so.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, F, Max, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from charts.months import month_key, months_fill
from zhtext.keywords import keywords_background, keywords_trending_score

from .models import Article, Author, Source

logger = logging.getLogger(__name__)

HOME_LATEST = 20
HOME_FEATURED = 6
HOME_SOURCES = 8
TRENDING_LIMIT = 20
# Derived numbers (keyword background, topic trends) are kept this long, and are recomputed
# sooner whenever an article is added or changed (the cache key carries that stamp).
CACHE_SECONDS = 600
PUBLISHED = Article.Status.PUBLISHED


@dataclass(frozen=True)
class Reference:
    """The day "the last N days" end on, and whether that is not today."""

    day: datetime.date
    today: datetime.date
    newest: datetime.date | None
    # Changes whenever a published article is added, removed or edited: part of cache keys.
    stamp: str

    @property
    def is_past(self) -> bool:
        return self.day != self.today

    def since(self, *, days: int) -> datetime.date:
        return self.day - datetime.timedelta(days=days - 1)


def published_articles() -> QuerySet[Article]:
    return Article.objects.filter(status=PUBLISHED)


def _newest_first(queryset: QuerySet[Article]) -> QuerySet[Article]:
    # Undated articles last on every database (PostgreSQL puts NULL first when descending).
    return queryset.order_by(F("published_on").desc(nulls_last=True), "-id")


def reference_get(*, today: datetime.date | None = None, days: int = 7) -> Reference:
    """Today, unless the newest article is older than ``days``: then that article's day."""
    today = today or timezone.localdate()
    row = published_articles().aggregate(
        newest=Max("published_on"), changed=Max("updated_at"), total=Count("id")
    )
    newest = row["newest"]
    changed = row["changed"].isoformat() if row["changed"] else "-"
    day = newest if newest and newest < today - datetime.timedelta(days=days - 1) else today
    return Reference(day=day, today=today, newest=newest, stamp=f"{row['total']}:{changed}")


def articles_latest(*, limit: int = HOME_LATEST) -> list[Article]:
    return list(_newest_first(published_articles().select_related("source"))[:limit])


def articles_featured(*, limit: int = HOME_FEATURED) -> list[Article]:
    return list(_newest_first(published_articles().filter(featured=True).select_related("source"))[:limit])


def sources_busiest(*, since: datetime.date, until: datetime.date, limit: int = HOME_SOURCES) -> list[Source]:
    """Sources with the most articles published between ``since`` and ``until`` (inclusive)."""
    return list(
        Source.objects.filter(
            articles__status=PUBLISHED,
            articles__published_on__gte=since,
            articles__published_on__lte=until,
        )
        .annotate(recent_count=Count("articles"))
        .order_by("-recent_count", "name")[:limit]
    )


def sources_all() -> list[Source]:
    """Every source with published articles, most articles first, with its count and latest date."""
    return list(
        Source.objects.filter(articles__status=PUBLISHED)
        .annotate(article_count=Count("articles"), latest=Max("articles__published_on"))
        .order_by("-article_count", "name")
    )


def months_archive() -> list[tuple[str, int]]:
    """Months that have published articles, newest first: ("2024-05", count)."""
    rows = (
        published_articles()
        .filter(published_on__isnull=False)
        .annotate(month=TruncMonth("published_on"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by("-month")
    )
    return [(month_key(row["month"]), row["n"]) for row in rows]


def months_archive_by_year(*, months: list[tuple[str, int]]) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """The archive grouped by year, newest first: (year, total, [(month, count), ...])."""
    years: dict[str, list[tuple[str, int]]] = {}
    for key, count in months:
        years.setdefault(key[:4], []).append((key, count))
    return [(year, sum(n for _, n in items), items) for year, items in years.items()]


def _month_counts(queryset: QuerySet[Article]) -> tuple[list[tuple[str, int]], int]:
    """Articles per month of ``queryset`` (calendar order, gaps as 0) and the total incl. undated."""
    rows = queryset.annotate(month=TruncMonth("published_on")).values("month").annotate(n=Count("id"))
    total = 0
    counts: list[tuple[str, int]] = []
    for row in rows:
        total += row["n"]
        if row["month"] is not None:
            counts.append((month_key(row["month"]), row["n"]))
    return months_fill(counts=counts), total


def source_month_counts(*, source: Source) -> tuple[list[tuple[str, int]], int]:
    return _month_counts(published_articles().filter(source=source).order_by())


def author_month_counts(*, author: Author) -> tuple[list[tuple[str, int]], int]:
    return _month_counts(published_articles().filter(authors=author).order_by())


def _listing(queryset: QuerySet[Article]) -> QuerySet[Article]:
    return _newest_first(queryset.select_related("source").prefetch_related("authors"))


def source_articles(*, source: Source) -> QuerySet[Article]:
    return _listing(published_articles().filter(source=source))


def author_articles(*, author: Author) -> QuerySet[Article]:
    return _listing(published_articles().filter(authors=author))


def month_articles(*, year: int, month: int) -> QuerySet[Article]:
    return _listing(published_articles().filter(published_on__year=year, published_on__month=month))


def author_sources(*, author: Author, limit: int = 5) -> list[tuple[int, str, int]]:
    """Where an author publishes: (source id, name, count), busiest first."""
    rows = (
        published_articles()
        .filter(authors=author)
        .values("source_id", "source__name")
        .annotate(n=Count("id"))
        .order_by("-n", "source__name")[:limit]
    )
    return [(row["source_id"], row["source__name"], row["n"]) for row in rows]


# --- trending keywords -------------------------------------------------------------------


def _keywords_background(*, reference: Reference) -> tuple[dict[str, int], int]:
    key = f"browse:keywords-background:{reference.stamp}"
    cached = cache.get(key)
    if cached is None:
        lists = published_articles().exclude(keywords=[]).values_list("keywords", flat=True)
        cached = keywords_background(keyword_lists=lists.iterator(chunk_size=2000))
        cache.set(key, cached, CACHE_SECONDS)
    return cached


def keywords_trending_many(
    *, reference: Reference, days: tuple[int, ...] = (7, 30), limit: int = TRENDING_LIMIT
) -> dict[int, list[tuple[str, float]]]:
    """Trending keywords for several windows ending on the reference day, from one read."""
    if not days:
        return {}
    longest = max(days)
    rows = list(
        published_articles()
        .filter(published_on__gte=reference.since(days=longest), published_on__lte=reference.day)
        .exclude(keywords=[])
        .values_list("published_on", "keywords")
    )
    background, total = _keywords_background(reference=reference)
    out: dict[int, list[tuple[str, float]]] = {}
    for window in days:
        since = reference.since(days=window)
        out[window] = keywords_trending_score(
            window=[keywords for day, keywords in rows if day >= since],
            background=background,
            background_total=total,
            limit=limit,
        )
    return out


def keywords_trending(
    *, days: int, limit: int = TRENDING_LIMIT, today: datetime.date | None = None
) -> list[tuple[str, float]]:
    """Keywords of the articles of the last ``days`` days, ranked against how common they always are.

    Built from the keywords jieba extracted from each article at ingest (TF-IDF weights),
    not from raw word counts. Scores are relative: the best word has 1.0.
    """
    reference = reference_get(today=today, days=days)
    return keywords_trending_many(reference=reference, days=(days,), limit=limit)[days]
