"""Article search for the search page, the JSON API, feeds and related articles.

``article_search(params=...)`` is the entry point: check the parameters, parse the query
(``search.query``), plan it, let the engine (``search.engines``) match, rank and count
facets, then load the rows from the database and highlight them (``search.highlight``),
so results look the same whichever engine answered.
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass

from django.db.models import Prefetch
from django.urls import reverse

from articles.models import Article, Author, PolicyDocument
from articles.policy import policy_document_for_name, policy_document_names
from zhtext.analysis import dictionary_refresh

from .engines import engine_get
from .engines.contract import FacetFilter, QueryPlan
from .facets import FACET_NAMES, FACETS
from .highlight import text_highlight, text_snippet
from .limits import FACET_LIMIT, MAX_PAGE, MAX_PAGE_SIZE
from .query import Node, QuerySyntaxError, query_needles, query_parse, query_tree

# What readers see while the search engine cannot answer (the details go to the log).
ENGINE_UNAVAILABLE_MESSAGE = "检索服务暂时无法连接，请稍后再试。文章仍可从首页和来源页浏览。"

SORTS = ("relevance", "newest", "oldest")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    sources: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    months: tuple[str, ...] = ()  # "2024-05"
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    sort: str = "relevance"  # relevance | newest | oldest
    title_only: bool = False
    page: int = 1
    page_size: int = 20
    policies: tuple[str, ...] = ()  # names of policy documents mentioned (facet "policy")
    issuers: tuple[str, ...] = ()  # issuers of the document an official text is (facet "issuer")
    doctypes: tuple[str, ...] = ()  # 政策原文 / 新闻报道 (facet "doctype")
    # One hit per story (repost group); SearchPage.count then counts stories.
    collapse: bool = True


@dataclass(frozen=True)
class StoryMember:
    """Another published article of a hit's story, for the "N 个来源" list."""

    id: int
    title: str
    url: str
    source: str
    published: datetime.date | None


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    url: str
    source: str
    authors: tuple[str, ...]
    published: datetime.date | None
    title_html: str  # escaped, matched words wrapped in <mark>
    snippet_html: str  # escaped CJK-aware snippet around matched words, <mark>...</mark>
    snippet: str  # same as plain text
    story_id: int | None = None
    story_size: int = 1  # published articles in the story (1 when the article has none)
    story_others: tuple[StoryMember, ...] = ()  # the story's other articles, oldest first


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass(frozen=True)
class SearchPage:
    # Matching stories when results are collapsed (params.collapse, the default): an
    # article and its reposts count once. Facet counts (and charts) always count articles:
    # ``documents`` is that count, so a page can say both ("14 条结果（16 篇文章）").
    count: int
    documents: int
    page: int
    page_size: int
    num_pages: int
    results: list[Hit]
    facets: dict[str, list[FacetValue]]  # keys: the facets' names (search.facets)
    # the policy document the query names (title, short title, 文号 in any brackets, alias):
    # shown above the results, and the query also finds it under its other names
    policy: PolicyDocument | None = None


def _params_check(params: SearchParams) -> None:
    if params.sort not in SORTS:
        raise QuerySyntaxError("排序方式只能是：相关度、最新或最早。")
    for month in params.months:
        if not _MONTH_RE.match(month):
            raise QuerySyntaxError(f"月份“{month}”的格式不对，应写成 2024-05 这样。")
    if params.date_from and params.date_to and params.date_from > params.date_to:
        raise QuerySyntaxError("开始日期晚于结束日期，请调换一下。")


@dataclass(frozen=True)
class SearchMatches:
    """The index's part of a search: ranked ids, counts and facets, no database rows."""

    ids: list[int]  # ranked, up to the end of ``page``
    count: int
    documents: int
    page: int
    page_size: int
    num_pages: int
    facets: dict[str, list[FacetValue]]
    needles: list[str]  # normalised query words, for highlighting
    policy: PolicyDocument | None = None

    @property
    def page_ids(self) -> list[int]:
        start = (self.page - 1) * self.page_size
        return self.ids[start : start + self.page_size]


def article_matches(*, params: SearchParams, using: str = "default") -> SearchMatches:
    """Parse, match, rank and count facets for ``params`` (raises ``QuerySyntaxError``, and
    ``EngineUnavailable`` when the search engine cannot answer).

    ``using`` names the haystack connection (the benchmark runs on its own).
    """
    _params_check(params)
    node = query_parse(text=params.q)
    policy = _policy_named(q=params.q)
    if policy is not None and node is not None:
        node = _policy_names_added(node=node, document=policy)
    dictionary_refresh()
    page_size = min(max(int(params.page_size), 1), MAX_PAGE_SIZE)
    page = max(int(params.page), 1)
    # (past MAX_PAGE nothing is listed: the ranking stops there and the page is empty)
    limit = min(page, MAX_PAGE) * page_size
    result = engine_get(using=using).search(search_plan(node=node, params=params, limit=limit))
    num_pages = max(math.ceil(result.count / page_size), 1)
    # Past the last page the page is empty (and says which page it is), as the API and the
    # page both report it: a client that pages until a page is empty stops.
    return SearchMatches(
        ids=list(result.ids),
        count=result.count,
        documents=result.document_count,
        page=page,
        page_size=page_size,
        num_pages=num_pages,
        facets=_facets(raw=result.facets, params=params),
        needles=query_needles(node),
        policy=policy,
    )


# A query that is only a document's name: longer ones are searches, not names.
POLICY_NAME_MAX_CHARS = 80


def _policy_named(*, q: str) -> PolicyDocument | None:
    """The policy record the whole query names, if any (quotes and 《》 around it allowed)."""
    text = q.strip().strip('"“”《》')
    if not text or len(text) > POLICY_NAME_MAX_CHARS or " OR " in text:
        return None
    return policy_document_for_name(value=text)


def _policy_names_added(*, node: Node, document: PolicyDocument) -> Node:
    """The query, or any of the document's names as a phrase: 个保法 finds the articles that
    write 个人信息保护法, 《中华人民共和国个人信息保护法》 or PIPL."""
    names = [name for name in policy_document_names(document=document) if len(name) >= 2]
    return ("or", [node, *(("phrase", name) for name in names)])


# What a web process asks before its first request: a ranked query (jieba, the searcher, the
# term dictionary, the facet columns) and a date-sorted one (the date column).
WARM_QUERIES = (SearchParams(q="数据安全 政策"), SearchParams(q="网络", sort="newest"))


def search_warm(*, using: str = "default") -> None:
    """Load what the first search needs (gunicorn's and the bench's web process call this),
    so no reader pays the cold start. Only the engine is asked: no database rows are read."""
    for params in WARM_QUERIES:
        article_matches(params=params, using=using)


def search_plan(*, node: Node | None, params: SearchParams, limit: int) -> QueryPlan:
    """The engine's plan for a parsed query and checked parameters."""
    sort = params.sort
    if node is None and sort == "relevance":
        sort = "newest"  # nothing to rank by
    return QueryPlan(
        query=query_tree(node) if node is not None else None,
        title_only=params.title_only,
        filters=tuple(
            FacetFilter(facet=name, values=values) for name, values in _selections(params).items() if values
        ),
        date_from=params.date_from,
        date_to=params.date_to,
        sort=sort,
        limit=limit,
        collapse=params.collapse,
        facets=FACET_NAMES,
    )


def article_search(*, params: SearchParams) -> SearchPage:
    matches = article_matches(params=params)
    # page_size=0 asks for the count and the facets only (charts): no result rows are loaded.
    counts_only = int(params.page_size) == 0
    return SearchPage(
        count=matches.count,
        documents=matches.documents,
        page=matches.page,
        page_size=matches.page_size,
        num_pages=matches.num_pages,
        results=[] if counts_only else _hits(ids=matches.page_ids, needles=matches.needles),
        facets=matches.facets,
        policy=matches.policy,
    )


def _selections(params: SearchParams) -> dict[str, tuple[str, ...]]:
    """Facet name → selected values, as the index holds them (years as four digits)."""
    out: dict[str, tuple[str, ...]] = {}
    for facet in FACETS:
        raw = getattr(params, facet.params_attr)
        if facet.param_type == "year":
            values = (f"{int(y):04d}" for y in raw)
        elif facet.param_type == "month":
            values = iter(raw)
        else:
            values = (v for v in raw if v)
        out[facet.name] = tuple(dict.fromkeys(values))
    return out


# --- results ---------------------------------------------------------------------------


def _hits(*, ids: list[int], needles: list[str]) -> list[Hit]:
    if not ids:
        return []
    rows = (
        Article.objects.filter(id__in=ids, status=Article.Status.PUBLISHED)
        .select_related("source")
        .prefetch_related(Prefetch("authors", queryset=Author.objects.only("id", "name")))
        # a result shows title, snippet and links: not the original file, the markdown, the
        # stored terms or the fingerprint (the biggest columns, several times the body's size)
        .defer("raw_text", "body_markdown", "body_terms", "minhash", "keywords")
    )
    by_id = {a.id: a for a in rows}
    members = _story_members(story_ids={a.story_id for a in by_id.values() if a.story_id})
    hits = []
    for article_id in ids:
        article = by_id.get(article_id)
        if article is None:
            continue  # removed from the database, index not caught up yet
        body = article.body_text or article.summary or ""
        snippet_html, snippet = text_snippet(text=body, needles=needles)
        hits.append(
            Hit(
                id=article.id,
                title=article.title,
                url=article.get_absolute_url(),
                source=article.source.name,
                authors=tuple(a.name for a in article.authors.all()),
                published=article.published_on,
                title_html=text_highlight(text=article.title, needles=needles),
                snippet_html=snippet_html,
                snippet=snippet,
                story_id=article.story_id,
                story_size=len(members.get(article.story_id, ())) or 1,
                story_others=tuple(m for m in members.get(article.story_id, ()) if m.id != article.id),
            )
        )
    return hits


def _story_members(*, story_ids: set[int]) -> dict[int, list[StoryMember]]:
    """Published articles of each story, oldest first (one query for the whole page)."""
    if not story_ids:
        return {}
    out: dict[int, list[StoryMember]] = {}
    # The status is checked here, not in the query: with it there, SQLite without statistics
    # walks the status index over every published article (120 ms at 10,000) instead of the
    # story members' covering index (4 ms).
    rows = (
        Article.objects.filter(story_id__in=story_ids)
        .order_by("published_on", "id")
        .values_list("id", "story_id", "title", "source__name", "published_on", "status")
    )
    for article_id, story_id, title, source, published, status in rows:
        if status != Article.Status.PUBLISHED:
            continue
        out.setdefault(story_id, []).append(
            StoryMember(
                id=article_id,
                title=title,
                url=reverse("article-detail", args=[article_id]),
                source=source,
                published=published,
            )
        )
    return out


def _facets(*, raw: dict[str, dict[str, int]], params: SearchParams) -> dict[str, list[FacetValue]]:
    selections = _selections(params)
    out: dict[str, list[FacetValue]] = {}
    for facet in FACETS:
        key = facet.name
        counts = dict(raw.get(key, {}))
        selected = set(selections[key])
        for value in selected:
            counts.setdefault(value, 0)
        if facet.order == "value_desc":
            ordered = sorted(counts.items(), key=lambda kv: kv[0], reverse=True)
        else:
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        values = [FacetValue(value=v, count=c, selected=v in selected) for v, c in ordered]
        top = values[:FACET_LIMIT]
        top += [fv for fv in values[FACET_LIMIT:] if fv.selected]
        out[key] = top
    return out
