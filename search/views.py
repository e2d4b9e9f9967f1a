from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from charts.svg import search_trend_chart

from .engines.contract import EngineUnavailable
from .facets import FACETS
from .forms import FILTER_PARAMS, SORT_CHOICES, SearchForm
from .limits import MAX_PAGE
from .query import query_lowercase_or
from .selectors import (
    ENGINE_UNAVAILABLE_MESSAGE,
    QuerySyntaxError,
    article_search,
)
from .templatetags.search_tags import querystring_replace

logger = logging.getLogger(__name__)

PAGINATION_WINDOW = 2


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
    except EngineUnavailable as exc:
        logger.warning("search engine unavailable: %s", exc)
        context["error"] = ENGINE_UNAVAILABLE_MESSAGE
        context["unavailable"] = True
        return render(request, "search/search.html", context, status=503)
    context.update(
        {
            "params": params,
            "page": page,
            "facet_groups": [(key, label, page.facets.get(key, [])) for key, _facet, label in FILTER_PARAMS],
            "lowercase_or": query_lowercase_or(text=params.q),
            "past_end": page.page > page.num_pages,
            "too_deep": page.page > MAX_PAGE,
            "max_page": MAX_PAGE,
            "last_page_url": querystring_replace(query=request.GET, changes={"page": page.num_pages}),
            "page_numbers": pagination_numbers(current=page.page, last=page.num_pages),
            "has_filters": any(getattr(params, facet.params_attr) for facet in FACETS)
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
