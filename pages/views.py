"""The site's pages: home, article, source, author, month archive and policy documents.

Each view reads through the selectors of the rooms below (``articles``, ``search``) and renders;
the search page itself, the API and the feeds are ``search``'s.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.urls import reverse

from articles import selectors as article_reads
from articles.models import Article, Author, PolicyDocument, Source
from articles.policy import (
    LIBRARY_FACETS,
    LIBRARY_SORTS,
    article_policy_role,
    articles_by_month,
    policy_aliases_shown,
    policy_document_articles,
    policy_document_detail,
    policy_documents_for_article,
    policy_library_search,
    policy_official_texts,
)
from articles.rendering import render_article_html, url_absolutise
from articles.reposts import article_reposts
from articles.untrusted import url_http_only
from charts.months import CHART_MONTHS, month_label, month_short_label, months_window
from charts.svg import bar_chart_svg
from search.forms import PolicyLibraryForm
from search.related import article_keywords_top, article_neighbours, article_related
from search.templatetags.search_tags import querystring_remove, querystring_replace, querystring_toggle

from . import selectors

HOME_LATEST_COUNT = 20
HOME_SECONDARY_COUNT = 3
HOME_TRENDING_COUNT = 15
PAGE_SIZE = 20


def home(request: HttpRequest) -> HttpResponse:
    reference = article_reads.reference_get()
    week_start = reference.since(days=7)
    trending = article_reads.keywords_trending_many(
        reference=reference, days=(7, 30), limit=HOME_TRENDING_COUNT
    )
    topics = []
    for item in selectors.topic_trends(reference=reference, months=CHART_MONTHS):
        topic = item["topic"]

        def topic_link(month: str, query: str = topic.query) -> str:
            return f"{reverse('search')}?{urlencode({'q': query, 'month': month, 'sort': 'newest'})}"

        chart = bar_chart_svg(
            series=item["series"],
            title=f"“{topic.name}”每月相关文章数",
            link=topic_link,
            label=month_short_label,
            long_label=month_label,
            width=320,
            height=150,
            chart_id=f"topic-{topic.pk}",
        )
        search_url = f"{reverse('search')}?{urlencode({'q': topic.query})}"
        topics.append({**item, "chart": chart, "search_url": search_url})
    months = article_reads.months_archive()
    latest = article_reads.articles_latest(limit=HOME_LATEST_COUNT + HOME_SECONDARY_COUNT + 1)
    lead, secondary = _front_page(featured=article_reads.articles_featured(), latest=latest)
    shown = {a.pk for a in (lead, *secondary) if a is not None}
    context = {
        "reference": reference,
        "week_start": week_start,
        "articles": [a for a in latest if a.pk not in shown][:HOME_LATEST_COUNT],
        "lead": lead,
        "lead_cover": _image_url(value=lead.cover_image) if lead else None,
        "secondary": secondary,
        # examples that find something today: this month's keywords come from the articles
        "search_examples": [word for word, _score in trending[30][:3]],
        "busiest_sources": article_reads.sources_busiest(since=week_start, until=reference.day),
        "trending_week": trending[7],
        "trending_month": trending[30],
        "archive_years": article_reads.months_archive_by_year(months=months),
        "topics": topics,
    }
    return render(request, "pages/home.html", context)


def _front_page(*, featured: list[Article], latest: list[Article]) -> tuple[Article | None, list[Article]]:
    """The lead story and the secondary ones: editors' picks first, then the newest, so one
    pick never stands alone in a row meant for several."""
    chosen: list[Article] = []
    for article in [*featured, *latest]:
        if article.pk not in {a.pk for a in chosen}:
            chosen.append(article)
        if len(chosen) == HOME_SECONDARY_COUNT + 1:
            break
    if not chosen:
        return None, []
    return chosen[0], chosen[1:]


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
    official_of = list(PolicyDocument.objects.filter(official_article=article))  # it is their 原文
    context = {
        "article": article,
        "summary": _summary_shown(article=article),
        "body_html": body_html,
        "cover_url": _image_url(value=article.cover_image),
        "source_url": reverse("source-detail", args=[article.source_id]),
        "authors": [(author, reverse("author-detail", args=[author.pk])) for author in article.authors.all()],
        "keywords": article_keywords_top(article=article),
        "reposts": reposts,
        "related": article_related(article=article, exclude_ids=[r.pk for r in reposts]),
        "official_of": official_of,
        "policy_documents": [
            (document, reverse("policy-detail", args=[document.pk]))
            for document in policy_documents_for_article(article=article)
            if document not in official_of
        ],
        "previous": previous,
        "next": following,
    }
    return render(request, "pages/article.html", context)


# How far into the body a summary counts as the body's own opening.
SUMMARY_OPENING_CHARS = 600


def _summary_shown(*, article: Article) -> str:
    """The summary box, unless it only repeats the opening the reader sees right below it (a
    summary made at ingest is the first paragraph): then nothing."""
    summary = (article.summary or "").strip()
    core = summary.rstrip("…").strip()
    opening = "".join((article.body_text or "")[:SUMMARY_OPENING_CHARS].split())
    if not core or "".join(core.split()) in opening:
        return ""
    return summary


def _image_url(*, value: str) -> str | None:
    # Protocol-relative covers ("//mmbiz.qpic.cn/...") are read as https first.
    return url_http_only(value=url_absolutise(value=value or "") or "") or None


def _search_url(**params: str) -> str:
    return f"{reverse('search')}?{urlencode(params)}"


def _month_chart(*, series: list[tuple[str, int]], title: str, search: dict[str, str]) -> str:
    def link(month: str) -> str:
        return _search_url(**search, month=month, sort="newest")

    return bar_chart_svg(
        series=months_window(counts=series),
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
        "months_shown": CHART_MONTHS if series else 0,
        "chart": _month_chart(series=series, title=chart_title, search=search),
        "page_obj": _page(request, articles),
        "search_url": _search_url(**search, sort="newest"),
    }


def source_list(request: HttpRequest) -> HttpResponse:
    sources = article_reads.sources_all()
    context = {"sources": sources, "article_total": sum(source.article_count for source in sources)}
    return render(request, "pages/source_list.html", context)


def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    context = {
        "source": source,
        **_listing_context(
            request=request,
            month_counts=article_reads.source_month_counts(source=source),
            chart_title=f"{source.name}每月发布的文章数",
            search={"source": source.name},
            articles=article_reads.source_articles(source=source),
        ),
    }
    return render(request, "pages/source.html", context)


def author_detail(request: HttpRequest, pk: int) -> HttpResponse:
    author = get_object_or_404(Author, pk=pk)
    context = {
        "author": author,
        **_listing_context(
            request=request,
            month_counts=article_reads.author_month_counts(author=author),
            chart_title=f"{author.name}每月发表的文章数",
            search={"author": author.name},
            articles=article_reads.author_articles(author=author),
        ),
        "sources": article_reads.author_sources(author=author),
    }
    return render(request, "pages/author.html", context)


def archive_month(request: HttpRequest, year: int, month: int) -> HttpResponse:
    if not 1 <= month <= 12 or not 1900 <= year <= 2999:
        raise Http404("没有这个月份")
    key = f"{year:04d}-{month:02d}"
    months = article_reads.months_archive()
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
        "page_obj": _page(request, article_reads.month_articles(year=year, month=month)),
        "search_url": _search_url(month=key, sort="newest"),
    }
    return render(request, "pages/archive.html", context)


def policy_list(request: HttpRequest) -> HttpResponse:
    form = PolicyLibraryForm(request.GET)
    params = form.params(data=request.GET)
    library = policy_library_search(params=params)
    # (links built like the search page's: a facet value toggles, a new sort or filter starts
    # again from the first page)
    here = reverse("policy-list")
    facet_groups = [
        (
            name,
            label,
            [
                (value, count, selected, here + querystring_toggle(query=request.GET, key=name, value=value))
                for value, count, selected in library.facets[name]
            ],
        )
        for name, label in LIBRARY_FACETS.items()
    ]
    context = {
        "library": library,
        "page": library.page,
        "params": params,
        "facet_groups": facet_groups,
        "sorts": [
            (
                key,
                label,
                here + querystring_replace(query=request.GET, changes={"sort": key, "page": None}),
                key == params.sort,
            )
            for key, label in LIBRARY_SORTS.items()
        ],
        "has_filters": any(getattr(params, name) for name in LIBRARY_FACETS),
        "clear_url": here + querystring_remove(query=request.GET, keys=LIBRARY_FACETS),
        "page_url": here + querystring_replace(query=request.GET, changes={"page": None}),
    }
    return render(request, "pages/policy_list.html", context)


def policy_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(PolicyDocument.objects.select_related("official_article__source"), pk=pk)
    page = policy_document_articles(document=document, page=request.GET.get("page"))
    citing = policy_official_texts(article_ids=[a.pk for a in page.object_list])
    for article in page.object_list:
        article.policy_role = "引用" if article.pk in citing else article_policy_role(title=article.title)
    context = {
        "document": document,
        **policy_document_detail(document=document),
        "page": page,
        "months": articles_by_month(articles=page.object_list),
        "aliases": policy_aliases_shown(document=document),
        # The search finds the document under all its names from any one of them; quoted so it
        # matches the exact name rather than any of its words.
        "search_query": f'"{document.doc_number or document.title or document.name}"',
        "feed_url": reverse("feed-policy-rss", args=[document.pk]),
    }
    return render(request, "pages/policy_document.html", context)


def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponsePermanentRedirect(static("favicon.svg"))
