from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from articles.models import Article, Source
from articles.rendering import render_article_html

from .forms import FILTER_PARAMS, SORT_CHOICES, SearchForm
from .selectors import QuerySyntaxError, article_search

HOME_LATEST_COUNT = 20
PAGINATION_WINDOW = 2


def home(request: HttpRequest) -> HttpResponse:
    articles = (
        Article.objects.filter(status=Article.Status.PUBLISHED)
        .select_related("source")
        .prefetch_related("authors")[:HOME_LATEST_COUNT]
    )
    sources = (
        Source.objects.annotate(
            published_count=Count("articles", filter=Q(articles__status=Article.Status.PUBLISHED))
        )
        .filter(published_count__gt=0)
        .order_by("-published_count", "name")
    )
    return render(request, "search/home.html", {"articles": articles, "sources": sources})


def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(
        Article.objects.select_related("source").prefetch_related("authors", "tags"),
        pk=pk,
        status=Article.Status.PUBLISHED,
    )
    # The body is untrusted crawled markdown; render_article_html sanitises it.
    body_html = render_article_html(markdown_text=article.body_markdown)
    return render(request, "search/article.html", {"article": article, "body_html": body_html})


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
            "has_filters": any((params.sources, params.authors, params.tags, params.years, params.months))
            or bool(params.date_from or params.date_to or params.title_only),
        }
    )
    return render(request, "search/search.html", context)


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
