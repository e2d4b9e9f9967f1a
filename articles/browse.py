"""Browse pages: one source, one author, one month of articles. Reads live in ``selectors``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from search.charts import bar_chart_svg, month_label, month_short_label, months_recent

from . import selectors
from .models import Article, Author, Source

PAGE_SIZE = 20
# A source crawled for ten years would give a hundred hair-thin bars; the chart shows the
# last three years and the month archive covers the rest.
CHART_MONTHS = 36


def _search_url(**params: str) -> str:
    return f"{reverse('search')}?{urlencode(params)}"


def _month_chart(*, series: list[tuple[str, int]], title: str, search: dict[str, str]) -> str:
    def link(month: str) -> str:
        return _search_url(**search, month=month, sort="newest")

    return bar_chart_svg(
        series=months_recent(series=series, limit=CHART_MONTHS),
        title=title,
        link=link,
        label=month_short_label,
        long_label=month_label,
    )


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _listing_context(
    *,
    request: HttpRequest,
    month_counts: tuple[list[tuple[str, int]], int],
    chart_title: str,
    search: dict[str, str],
    articles: QuerySet[Article],
) -> dict[str, object]:
    """The source and author pages are the same page over a different filter (``_browse_page.html``)."""
    series, total = month_counts
    return {
        "total": total,
        "months_shown": len(months_recent(series=series, limit=CHART_MONTHS)),
        "chart": _month_chart(series=series, title=chart_title, search=search),
        "page_obj": _page(request, articles),
        "search_url": _search_url(**search, sort="newest"),
    }


def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    context = {
        "source": source,
        **_listing_context(
            request=request,
            month_counts=selectors.source_month_counts(source=source),
            chart_title=f"{source.name}每月发布的文章数",
            search={"source": source.name},
            articles=selectors.source_articles(source=source),
        ),
    }
    return render(request, "articles/source.html", context)


def author_detail(request: HttpRequest, pk: int) -> HttpResponse:
    author = get_object_or_404(Author, pk=pk)
    context = {
        "author": author,
        **_listing_context(
            request=request,
            month_counts=selectors.author_month_counts(author=author),
            chart_title=f"{author.name}每月发表的文章数",
            search={"author": author.name},
            articles=selectors.author_articles(author=author),
        ),
        "sources": selectors.author_sources(author=author),
    }
    return render(request, "articles/author.html", context)


def archive_month(request: HttpRequest, year: int, month: int) -> HttpResponse:
    if not 1 <= month <= 12 or not 1900 <= year <= 2999:
        raise Http404("没有这个月份")
    key = f"{year:04d}-{month:02d}"
    months = selectors.months_archive()
    keys = [k for k, _ in months]
    # The archive is newest first: the neighbour before is newer, the one after older.
    newer = older = None
    if key in keys:
        index = keys.index(key)
        newer = keys[index - 1] if index > 0 else None
        older = keys[index + 1] if index + 1 < len(keys) else None
    else:
        newer = next((k for k in reversed(keys) if k > key), None)
        older = next((k for k in keys if k < key), None)
    context = {
        "month_key": key,
        "month_label": month_label(key),
        "newer": newer,
        "older": older,
        "page_obj": _page(request, selectors.month_articles(year=year, month=month)),
        "search_url": _search_url(month=key, sort="newest"),
    }
    return render(request, "articles/archive.html", context)
