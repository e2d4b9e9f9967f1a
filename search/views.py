from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from articles import selectors as article_reads
from articles.models import Article
from articles.policy import policy_documents_for_article
from articles.rendering import render_article_html, url_absolutise
from articles.reposts import article_reposts
from articles.untrusted import url_http_only

from .charts import bar_chart_svg, month_label, month_short_label, search_trend_chart
from .forms import FILTER_PARAMS, SORT_CHOICES, SearchForm
from .related import article_keywords_top, article_neighbours, article_related
from .selectors import FACET_LIMIT, QuerySyntaxError, article_search
from .templatetags.search_tags import querystring_replace

HOME_LATEST_COUNT = 20
HOME_TRENDING_COUNT = 15
HOME_TOPIC_MONTHS = 24
PAGINATION_WINDOW = 2


def home(request: HttpRequest) -> HttpResponse:
    reference = article_reads.reference_get()
    week_start = reference.since(days=7)
    trending = article_reads.keywords_trending_many(
        reference=reference, days=(7, 30), limit=HOME_TRENDING_COUNT
    )
    topics = []
    for item in article_reads.topic_trends(reference=reference, months=HOME_TOPIC_MONTHS):
        topic = item["topic"]

        def topic_link(month: str, query: str = topic.query) -> str:
            return f"{reverse('search')}?{urlencode({'q': query, 'month': month, 'sort': 'newest'})}"

        chart = bar_chart_svg(
            series=item["series"],
            title=f"“{topic.name}”每月相关文章数",
            link=topic_link,
            label=month_short_label,
            long_label=month_label,
            width=420,
            height=150,
            chart_id=f"topic-{topic.pk}",
        )
        search_url = f"{reverse('search')}?{urlencode({'q': topic.query})}"
        topics.append({**item, "chart": chart, "search_url": search_url})
    months = article_reads.months_archive()
    context = {
        "reference": reference,
        "week_start": week_start,
        "articles": article_reads.articles_latest(limit=HOME_LATEST_COUNT),
        "featured": article_reads.articles_featured(),
        "busiest_sources": article_reads.sources_busiest(since=week_start, until=reference.day),
        "trending_week": trending[7],
        "trending_month": trending[30],
        "archive_years": article_reads.months_archive_by_year(months=months),
        "topics": topics,
    }
    return render(request, "search/home.html", context)


def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(
        Article.objects.select_related("source").prefetch_related("authors", "tags"),
        pk=pk,
        status=Article.Status.PUBLISHED,
    )
    # The body is untrusted crawled markdown; render_article_html sanitises it.
    body_html = render_article_html(markdown_text=article.body_markdown)
    reposts = article_reposts(article=article)
    previous, following = article_neighbours(article=article)
    context = {
        "article": article,
        "body_html": body_html,
        "cover_url": _image_url(value=article.cover_image),
        "source_url": reverse("source-detail", args=[article.source_id]),
        "authors": [(author, reverse("author-detail", args=[author.pk])) for author in article.authors.all()],
        "keywords": article_keywords_top(article=article),
        "reposts": reposts,
        "related": article_related(article=article, exclude_ids=[r.pk for r in reposts]),
        "policy_documents": [
            (document, reverse("policy-detail", args=[document.pk]))
            for document in policy_documents_for_article(article=article)
        ],
        "previous": previous,
        "next": following,
    }
    return render(request, "search/article.html", context)


def _image_url(*, value: str) -> str | None:
    # Protocol-relative covers ("//mmbiz.qpic.cn/...") are read as https first.
    return url_http_only(value=url_absolutise(value=value or "") or "") or None


def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    context: dict[str, object] = {
        "form": form,
        "sort_choices": SORT_CHOICES,
        "filter_params": FILTER_PARAMS,
    }
    if not form.is_valid():
        context["error"] = form.error_summary()
        return render(request, "search/search.html", context, status=400)
    params = form.to_params()
    try:
        page = article_search(params=params)
    except QuerySyntaxError as exc:
        context["error"] = str(exc)
        return render(request, "search/search.html", context, status=400)
    context.update(
        {
            "params": params,
            "page": page,
            "facet_groups": [(key, label, page.facets.get(key, [])) for key, _facet, label in FILTER_PARAMS],
            # The selector shows the last page when asked for one past the end.
            "page_clamped": params.page > page.page,
            "page_numbers": pagination_numbers(current=page.page, last=page.num_pages),
            "has_filters": any(
                (params.sources, params.authors, params.tags, params.policies, params.years, params.months)
            )
            or bool(params.date_from or params.date_to or params.title_only),
        }
    )
    context["trend_chart"] = _search_trend_chart(request=request, page=page)
    return render(request, "search/search.html", context)


def _search_trend_chart(*, request: HttpRequest, page) -> str:
    """Matching articles per month as inline SVG; each bar narrows the same search to its month."""
    months = page.facets.get("month", [])
    if not months:
        return ""

    def month_link(month: str) -> str:
        return reverse("search") + querystring_replace(
            query=request.GET, changes={"month": month, "page": None}
        )

    return search_trend_chart(
        months=months,
        query_link=month_link,
        capped=len(months) >= FACET_LIMIT,
        title="检索结果每月文章数",
    )


def pagination_numbers(*, current: int, last: int) -> list[int | None]:
    """Page numbers around the current one plus first and last; None marks a gap."""
    if last <= 1:
        return []
    wanted = {1, last, *range(current - PAGINATION_WINDOW, current + PAGINATION_WINDOW + 1)}
    numbers = sorted(n for n in wanted if 1 <= n <= last)
    shown: list[int | None] = []
    for number in numbers:
        if shown and number - (shown[-1] or 0) > 1:
            shown.append(None)
        shown.append(number)
    return shown
