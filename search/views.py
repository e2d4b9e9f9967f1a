from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse

from articles.models import Article, PolicyDocument, Source
from articles.rendering import IMAGE_SCHEMES, render_article_html, url_absolutise, url_is_allowed

from .forms import FILTER_PARAMS, SORT_CHOICES, SearchForm
from .related import article_keywords_top, article_neighbours, article_related
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
    reposts = _article_reposts(article=article)
    previous, following = article_neighbours(article=article)
    context = {
        "article": article,
        "body_html": body_html,
        "cover_url": _image_url(value=article.cover_image),
        "source_url": _url_or_none("source-detail", article.source_id),
        "authors": [(author, _url_or_none("author-detail", author.pk)) for author in article.authors.all()],
        "keywords": article_keywords_top(article=article),
        "reposts": reposts,
        "related": article_related(article=article, exclude_ids=[r.pk for r in reposts]),
        "policy_documents": [
            (document, _url_or_none("policy-detail", document.pk))
            for document in _article_policy_documents(article=article)
        ],
        "previous": previous,
        "next": following,
    }
    return render(request, "search/article.html", context)


def _url_or_none(name: str, pk: int) -> str | None:
    # Source, author and policy pages are separate features; the article page must not
    # break while one of them is missing from the URLconf.
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return None


def _image_url(*, value: str) -> str | None:
    url = url_absolutise(value=value or "")
    return url if url and url_is_allowed(value=url, schemes=IMAGE_SCHEMES) else None


def _article_reposts(*, article: Article) -> list[Article]:
    try:
        from articles.reposts import article_reposts
    except ImportError:
        return []
    return [r for r in article_reposts(article=article) if r.pk != article.pk]


def _article_policy_documents(*, article: Article) -> list[PolicyDocument]:
    try:
        from articles.policy import policy_documents_for_article
    except ImportError:
        return []
    return list(policy_documents_for_article(article=article))


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
