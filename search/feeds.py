"""RSS 2.0 and Atom feeds: of any search, of one source, of one policy document.

A search feed takes exactly the GET parameters of /search/ and validates them with
the same ``SearchForm``, so a reader can subscribe to whatever page they are looking
at. Feeds list the newest matches first unless the query asks for another order.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.syndication.views import Feed
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed
from django.utils.html import escape

from articles.models import Article, PolicyDocument, Source
from articles.rendering import render_plain_excerpt
from articles.untrusted import text_xml_safe

from .engines.contract import EngineUnavailable
from .forms import SearchForm
from .selectors import (
    ENGINE_UNAVAILABLE_MESSAGE,
    QuerySyntaxError,
    SearchParams,
    article_search,
)

FEED_ITEMS = 30
SITE_NAME = "政策新闻检索门户"
DESCRIPTION_CHARS = 200
# Parameters that only shape the page a reader was looking at, not what a feed should follow.
PAGE_ONLY_PARAMS = ("page", "page_size")

logger = logging.getLogger(__name__)


class FeedParamsError(ValueError):
    """Search parameters a feed cannot use; ``str()`` is the Chinese message for the reader."""


@dataclass(frozen=True)
class FeedSubject:
    title: str
    description: str
    link: str
    articles: list[Article]


# --- reading articles ----------------------------------------------------------------------------


def _feed_rows() -> QuerySet[Article]:
    return (
        Article.objects.filter(status=Article.Status.PUBLISHED)
        .select_related("source")
        .prefetch_related("authors")
        .defer("raw_text", "body_markdown", "minhash")
    )


def _newest(rows: QuerySet[Article]) -> list[Article]:
    return list(rows.order_by(F("published_on").desc(nulls_last=True), "-id")[:FEED_ITEMS])


def articles_in_order(*, ids: Iterable[int]) -> list[Article]:
    ids = list(ids)
    by_id = {article.pk: article for article in _feed_rows().filter(pk__in=ids)}
    return [by_id[pk] for pk in ids if pk in by_id]


def feed_query_clean(*, query: QueryDict) -> QueryDict:
    cleaned = query.copy()
    for key in PAGE_ONLY_PARAMS:
        cleaned.pop(key, None)
    return cleaned


def search_feed_params(*, query: QueryDict) -> SearchParams:
    """The search a feed follows: the page's parameters, first page, newest first unless sorted."""
    form = SearchForm(query)
    if not form.is_valid():
        raise FeedParamsError(form.error_summary())
    params = form.to_params()
    sort = params.sort if query.get("sort") else "newest"
    return dataclasses.replace(params, sort=sort, page=1, page_size=FEED_ITEMS)


def search_feed_title(*, params: SearchParams) -> str:
    parts = [f"“{params.q}”"] if params.q else []
    for label, values in (("来源", params.sources), ("作者", params.authors), ("标签", params.tags)):
        if values:
            parts.append(f"{label}：{'、'.join(values)}")
    if params.years:
        parts.append("年份：" + "、".join(f"{year}年" for year in params.years))
    if params.months:
        parts.append("月份：" + "、".join(params.months))
    if params.date_from or params.date_to:
        start = params.date_from.isoformat() if params.date_from else ""
        end = params.date_to.isoformat() if params.date_to else ""
        parts.append(f"日期：{start}至{end}")
    if params.title_only:
        parts.append("仅标题")
    subject = "，".join(parts) if parts else "全部文章"
    return f"{SITE_NAME} · 检索：{subject}"


def search_feed_subject(*, query: QueryDict) -> FeedSubject:
    params = search_feed_params(query=query)
    try:
        page = article_search(params=params)
    except QuerySyntaxError as exc:
        raise FeedParamsError(str(exc)) from exc
    encoded = feed_query_clean(query=query).urlencode()
    return FeedSubject(
        title=search_feed_title(params=params),
        description="按检索条件订阅的最新政策新闻。",
        link=reverse("search") + (f"?{encoded}" if encoded else ""),
        articles=articles_in_order(ids=[hit.id for hit in page.results]),
    )


def _url_or_none(name: str, pk: int) -> str | None:
    # Source and policy pages are built separately; a feed must work before they exist.
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:
        return None


def source_feed_subject(*, source: Source) -> FeedSubject:
    link = (
        _url_or_none("source-detail", source.pk)
        or reverse("search") + "?" + QueryDict.fromkeys(["source"], value=source.name).urlencode()
    )
    return FeedSubject(
        title=f"{SITE_NAME} · {source.name}",
        description=f"{source.name}发布的最新文章。",
        link=link,
        articles=_newest(_feed_rows().filter(source=source)),
    )


def policy_feed_subject(*, document: PolicyDocument) -> FeedSubject:
    name = f"《{document.name}》" if document.kind == PolicyDocument.Kind.TITLE else document.name
    return FeedSubject(
        title=f"{SITE_NAME} · 提及{name}的文章",
        description=f"提及{name}的最新文章。",
        link=_url_or_none("policy-detail", document.pk) or reverse("search"),
        articles=_newest(_feed_rows().filter(policy_mentions__document=document).distinct()),
    )


# --- item fields ----------------------------------------------------------------------------------


def article_feed_date(*, article: Article) -> datetime.datetime:
    """Publication time for feeds: the publication day at midnight, local time."""
    if article.published_on:
        day = article.published_on
        return timezone.make_aware(datetime.datetime(day.year, day.month, day.day))
    return article.fetched_at or article.created_at


def article_feed_description(*, article: Article) -> str:
    # Readers treat the description as HTML; the summary is plain crawled text, so escape it.
    text = article.summary or render_plain_excerpt(text=article.body_text, limit=DESCRIPTION_CHARS)
    return escape(text)


def feed_value_xml_safe(value: object) -> object:
    """A feed field with every string in it made writable in XML; other values as they are."""
    if isinstance(value, str):
        return text_xml_safe(value=value)
    if isinstance(value, list | tuple):
        return type(value)(feed_value_xml_safe(item) for item in value)
    return value


class ArticleFeed(Feed):
    feed_type = Rss201rev2Feed
    language = "zh-CN"

    def __call__(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return super().__call__(request, *args, **kwargs)
        except FeedParamsError as exc:
            return HttpResponseBadRequest(f"订阅参数有误：{exc}", content_type="text/plain; charset=utf-8")
        except EngineUnavailable as exc:
            logger.warning("search engine unavailable: %s", exc)
            return HttpResponse(
                ENGINE_UNAVAILABLE_MESSAGE, status=503, content_type="text/plain; charset=utf-8"
            )

    def get_feed(self, obj: FeedSubject, request: HttpRequest) -> SyndicationFeed:
        # Django refuses to write a control character (UnserializableContentError, a 500), and
        # articles stored before ingest stripped them still hold some; so every string the feed
        # writes, from whatever method it came, is made safe here, at the one place they meet.
        feed = super().get_feed(obj, request)
        feed.feed = {key: feed_value_xml_safe(value) for key, value in feed.feed.items()}
        feed.items = [{key: feed_value_xml_safe(value) for key, value in item.items()} for item in feed.items]
        return feed

    def title(self, obj: FeedSubject) -> str:
        return obj.title

    def description(self, obj: FeedSubject) -> str:
        return obj.description

    def subtitle(self, obj: FeedSubject) -> str:
        return obj.description

    def link(self, obj: FeedSubject) -> str:
        return obj.link

    def items(self, obj: FeedSubject) -> list[Article]:
        return obj.articles

    def item_title(self, item: Article) -> str:
        return item.title

    def item_description(self, item: Article) -> str:
        return article_feed_description(article=item)

    def item_link(self, item: Article) -> str:
        return item.get_absolute_url()

    def item_pubdate(self, item: Article) -> datetime.datetime:
        return article_feed_date(article=item)

    def item_updateddate(self, item: Article) -> datetime.datetime:
        # Atom requires <updated> on every entry; a re-cleaned article counts as updated.
        return max(article_feed_date(article=item), item.updated_at or item.created_at)

    def item_author_name(self, item: Article) -> str | None:
        names = [author.name for author in item.authors.all()]
        return "、".join(names) or None

    def item_categories(self, item: Article) -> list[str]:
        return [item.source.name]


class SearchRssFeed(ArticleFeed):
    def get_object(self, request: HttpRequest, *args, **kwargs) -> FeedSubject:
        return search_feed_subject(query=request.GET)

    def feed_url(self, obj: FeedSubject) -> str:
        return reverse("feed-search-rss") + obj.link.removeprefix(reverse("search"))


class SearchAtomFeed(SearchRssFeed):
    feed_type = Atom1Feed

    def feed_url(self, obj: FeedSubject) -> str:
        return reverse("feed-search-atom") + obj.link.removeprefix(reverse("search"))


class SourceRssFeed(ArticleFeed):
    def get_object(self, request: HttpRequest, pk: int) -> FeedSubject:
        return source_feed_subject(source=Source.objects.get(pk=pk))


class SourceAtomFeed(SourceRssFeed):
    feed_type = Atom1Feed


class PolicyRssFeed(ArticleFeed):
    def get_object(self, request: HttpRequest, pk: int) -> FeedSubject:
        return policy_feed_subject(document=PolicyDocument.objects.get(pk=pk))


class PolicyAtomFeed(PolicyRssFeed):
    feed_type = Atom1Feed
