"""Read-only JSON API: search and article text, documented at /api/docs."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Literal

from csp.decorators import csp_update
from django.http import HttpRequest, HttpResponse
from ninja import Field, NinjaAPI, Query, Schema
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import Swagger
from ninja.renderers import JSONRenderer
from ninja.responses import Status
from pydantic import ValidationInfo, create_model, field_validator

from articles.models import Article, PolicyDocument
from articles.policy import LIBRARY_FACETS, policy_document_detail, policy_library_search
from articles.untrusted import text_controls_strip, text_xml_safe, url_http_only

from .engines.contract import EngineUnavailable
from .facets import FACET_NAMES, FACETS
from .forms import PolicyLibraryForm, SearchForm
from .limits import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, MAX_QUERY_CHARS
from .selectors import (
    ENGINE_UNAVAILABLE_MESSAGE,
    QuerySyntaxError,
    SearchPage,
    article_search,
)
from .suggest import (
    SUGGEST_LIMIT,
    SUGGEST_MAX_CHARS,
    SUGGEST_MIN_CHARS,
    SuggestQueryTooLong,
    title_suggestions,
)


def json_value_clean(value: object) -> object:
    """``value`` with every string in it (keys too) free of control characters."""
    if isinstance(value, str):
        return text_xml_safe(value=value)
    if isinstance(value, dict):
        return {json_value_clean(key): json_value_clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value_clean(item) for item in value]
    return value


class ReadableJSONRenderer(JSONRenderer):
    # Chinese text stays readable in the raw response instead of \uXXXX escapes.
    json_dumps_params = {"ensure_ascii": False}

    def render(self, request: HttpRequest, data: object, *, response_status: int) -> str:
        # Every string of every response leaves through here: rows stored before ingest stripped
        # control characters, and error messages quoting a parameter, come out clean.
        return super().render(request, json_value_clean(data), response_status=response_status)


# Swagger UI's stylesheet draws its icons (expand arrows, copy buttons) as data: SVG
# images, which the site-wide img-src leaves out; only the docs page gets them. ninja puts
# one decorator on both docs views, so the schema JSON carries the same harmless addition.
DOCS_CSP_UPDATE = {"img-src": ["data:"]}


def docs_csp(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    # Both headers: with CSP_REPORT_ONLY on, the report-only policy is the one that must allow it.
    return csp_update(DOCS_CSP_UPDATE)(csp_update(DOCS_CSP_UPDATE, REPORT_ONLY=True)(view))


api = NinjaAPI(
    title="政策新闻检索门户 API",
    version="1.0",
    description="只读接口：检索已发布的政策新闻，并获取文章的元数据和正文纯文本。",
    openapi_url="/openapi.json",
    docs_url="/docs",
    # Without a validator URL Swagger UI shows no badge fetched from validator.swagger.io,
    # which would hand the schema's address to a third party on every visit.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_decorator=docs_csp,
    urls_namespace="api",
    renderer=ReadableJSONRenderer(),
)

FACET_KEYS = FACET_NAMES

logger = logging.getLogger(__name__)


class ErrorOut(Schema):
    error: str
    fields: dict[str, list[str]] = {}


class _SearchQueryInBase(Schema):
    @field_validator("*", mode="before")
    @classmethod
    def as_the_form_reads_it(cls, value: object, info: ValidationInfo) -> object:
        # The form strips control characters and reads an empty value as absent; the typed
        # schema must not turn away what the form accepts.
        if isinstance(value, list):
            items = [text_controls_strip(value=v) if isinstance(v, str) else v for v in value]
            return [item for item in items if not isinstance(item, str) or item.strip()]
        if isinstance(value, str):
            value = text_controls_strip(value=value)
            if not value.strip() and info.field_name:
                return cls.model_fields[info.field_name].default
        return value


# The query parameters in the order the docs list them; one repeatable parameter per facet.
SearchQueryIn = create_model(
    "SearchQueryIn",
    __base__=_SearchQueryInBase,
    q=(str, Field("", max_length=MAX_QUERY_CHARS, description="关键词，支持引号整句、OR、减号排除")),
    **{
        f.param: (list[int] if f.param_type == "year" else list[str], Field([], description=f.description))
        for f in FACETS
    },
    date_from=(datetime.date | None, Field(None, description="起始日期，YYYY-MM-DD")),
    date_to=(datetime.date | None, Field(None, description="截止日期，YYYY-MM-DD")),
    sort=(Literal["relevance", "newest", "oldest"], Field("relevance", description="排序")),
    page=(
        int,
        Field(
            1,
            description=f"页码，从 1 开始；超过末页（或第 {MAX_PAGE} 页之后）时 results 为空，"
            "page 为所请求的页码",
        ),
    ),
    page_size=(int, Field(DEFAULT_PAGE_SIZE, description=f"每页条数，1 到 {MAX_PAGE_SIZE}")),
    search_in=(Literal["", "all", "title"], Field("", alias="in", description="title 表示只检索标题")),
)


class FacetValueOut(Schema):
    value: str
    count: int


class RepostOut(Schema):
    id: int
    title: str
    url: str
    source: str
    published: datetime.date | None


class HitOut(Schema):
    id: int
    title: str
    url: str
    source: str
    authors: list[str]
    published: datetime.date | None
    snippet: str
    story_size: int = Field(1, description="同一报道被多少个来源发布（含本条）")
    reposts: list[RepostOut] = Field([], description="同一报道的其他来源")


class PolicyRefOut(Schema):
    id: int
    name: str
    doc_number: str
    url: str


class SearchOut(Schema):
    count: int = Field(description="结果条数：同一报道的转载合为一条")
    documents: int = Field(description="文章篇数（转载各算一篇）：facets 的计数单位")
    page: int
    page_size: int
    num_pages: int
    results: list[HitOut]
    facets: dict[str, list[FacetValueOut]]
    policy: PolicyRefOut | None = Field(
        None,
        description="查询词正是某份政策文件的名称、简称、文号或别名时的该文件；结果也包含以它其他名称提及它的文章",
    )


class ArticleOut(Schema):
    id: int
    title: str
    url: str
    canonical_url: str
    source: str
    authors: list[str]
    tags: list[str]
    published: datetime.date | None
    fetched_at: datetime.datetime | None
    summary: str
    attribution: str
    cover_image: str
    body_text: str
    body_markdown: str


@api.exception_handler(NinjaValidationError)
def api_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """Type errors caught by ninja get the same 400 and Chinese messages as the form gives."""
    form = SearchForm(request.GET)
    fields = {} if form.is_valid() else form.error_dict()
    if not fields:
        for error in exc.errors:
            name = str(error.get("loc", ["", "参数"])[-1])
            fields.setdefault(name, []).append(f"参数 {name} 的值无效。")
    return api.create_response(request, error_body(fields=fields), status=400)


def error_body(*, fields: dict[str, list[str]]) -> dict[str, object]:
    messages = [message for messages in fields.values() for message in messages]
    return {"error": " ".join(messages) or "请求参数有误。", "fields": fields}


@api.get(
    "/search",
    response={200: SearchOut, 400: ErrorOut, 503: ErrorOut},
    summary="检索文章",
    description=(
        "参数与检索页面相同。source、author、tag、policy、year、month 可重复出现：同一项的多个值之间为“或”，"
        "不同项之间为“且”。sort 可选 relevance（相关度）、newest（最新）、oldest（最早）；"
        "in=title 表示只检索标题。同一报道被多个来源转载时只返回一条，count 按报道计，"
        "其他来源见 reposts。"
    ),
)
def search_articles(request: HttpRequest, filters: Query[SearchQueryIn]):
    # The typed filters only document the API; the form is what decides, so the
    # page and the API accept exactly the same input.
    form = SearchForm(request.GET)
    if not form.is_valid():
        return Status(400, error_body(fields=form.error_dict()))
    try:
        result = article_search(params=form.to_params())
    except QuerySyntaxError as exc:
        return Status(400, error_body(fields={"q": [str(exc)]}))
    except EngineUnavailable as exc:
        logger.warning("search engine unavailable: %s", exc)
        return Status(503, {"error": ENGINE_UNAVAILABLE_MESSAGE, "fields": {}})
    return Status(200, search_page_payload(page=result))


def search_page_payload(*, page: SearchPage) -> dict[str, object]:
    return {
        "count": page.count,
        "documents": page.documents,
        "page": page.page,
        "page_size": page.page_size,
        "num_pages": page.num_pages,
        "results": [
            {
                "id": hit.id,
                "title": hit.title,
                "url": url_http_only(value=hit.url, site_path=True),
                "source": hit.source,
                "authors": list(hit.authors),
                "published": hit.published,
                "snippet": hit.snippet,
                "story_size": max(hit.story_size, 1),
                "reposts": [
                    {
                        "id": o.id,
                        "title": o.title,
                        "url": url_http_only(value=o.url, site_path=True),
                        "source": o.source,
                        "published": o.published,
                    }
                    for o in hit.story_others
                ],
            }
            for hit in page.results
        ],
        "facets": {
            key: [{"value": fv.value, "count": fv.count} for fv in page.facets.get(key, [])]
            for key in FACET_KEYS
        },
        "policy": policy_ref(document=page.policy) if page.policy else None,
    }


def policy_ref(*, document: PolicyDocument) -> dict[str, object]:
    return {
        "id": document.pk,
        "name": document.title or document.name,
        "doc_number": document.doc_number,
        "url": document.get_absolute_url(),
    }


@api.get(
    "/articles/{id}",
    response={200: ArticleOut, 404: ErrorOut},
    summary="文章详情",
    description="返回已发布文章的元数据与清洗后的正文；未发布或不存在的文章返回 404。",
)
def article_read(request: HttpRequest, id: int):  # the path parameter is documented as {id}
    article = (
        Article.objects.select_related("source")
        .prefetch_related("authors", "tags")
        .filter(pk=id, status=Article.Status.PUBLISHED)
        .first()
    )
    if article is None:
        return Status(404, {"error": "文章不存在或尚未公开。", "fields": {}})
    return Status(200, article_payload(article=article))


def article_payload(*, article: Article) -> dict[str, object]:
    return {
        "id": article.pk,
        "title": article.title,
        # Rows stored before ingest checked schemes may hold "javascript:..."; those go out as "".
        "url": url_http_only(value=article.url),
        "canonical_url": url_http_only(value=article.canonical_url),
        "source": article.source.name,
        "authors": [author.name for author in article.authors.all()],
        "tags": [tag.name for tag in article.tags.all()],
        "published": article.published_on,
        "fetched_at": article.fetched_at,
        "summary": article.summary,
        "attribution": article.attribution,
        "cover_image": url_http_only(value=article.cover_image),
        "body_text": article.body_text,
        "body_markdown": article.body_markdown,
    }


class SuggestionOut(Schema):
    id: int
    title: str
    url: str


@api.get(
    "/suggest",
    response={200: list[SuggestionOut], 400: ErrorOut},
    summary="标题联想",
    description=(
        f"输入至少 {SUGGEST_MIN_CHARS} 个字时，返回最多 {SUGGEST_LIMIT} 条标题与输入相符的已发布文章；"
        f"不足 {SUGGEST_MIN_CHARS} 个字返回空列表，超过 {SUGGEST_MAX_CHARS} 个字返回 400。"
    ),
    url_name="suggest",
)
def suggest(request: HttpRequest, q: str = ""):
    try:
        suggestions = title_suggestions(q=q)
    except SuggestQueryTooLong as exc:
        return Status(400, error_body(fields={"q": [str(exc)]}))
    return Status(
        200,
        [
            {"id": s.id, "title": s.title, "url": url_http_only(value=s.url, site_path=True)}
            for s in suggestions
        ],
    )


class PolicyOut(Schema):
    id: int
    name: str = Field(description="记录名称（书名号内的标题或文号）")
    title: str = Field(description="正式标题，未知为空")
    doc_number: str = Field(description="发文字号，如 国办发〔2024〕12号")
    issuers: list[str] = Field(description="发文机关，联合发文有多个")
    category: str = Field(description="文件类型：法律、行政法规、部门规章、规范性文件、标准等，未知为空")
    signed_on: datetime.date | None = Field(description="成文日期")
    published_on: datetime.date | None = Field(description="发布日期")
    effective_on: datetime.date | None = Field(description="施行日期")
    expires_on: datetime.date | None = Field(description="有效期至（文件写明有效期时）")
    status: str = Field(description="时效性：现行有效、尚未施行、已修订、已废止、已失效，未知为空")
    topic: str = Field(description="主题分类")
    aliases: list[str] = Field(description="其他名称：简称、别名、其他写法")
    article_count: int = Field(description="提及该文件的已发布文章数")
    official_article_id: int | None = Field(description="原文（本站收录的文件正文）的文章 id")
    url: str = Field(description="文件页面")


class PolicyDetailOut(PolicyOut):
    cites: list[PolicyRefOut] = Field(description="本文件原文引用的文件")
    cited_by: list[PolicyRefOut] = Field(description="原文引用本文件的文件")


class PolicyListOut(Schema):
    count: int
    page: int
    num_pages: int
    match_id: int | None = Field(
        description="查询词正是某份文件的名称、简称、文号或别名时，该文件的 id（排在第一）"
    )
    results: list[PolicyOut]
    facets: dict[str, list[FacetValueOut]]


def policy_payload(*, document: PolicyDocument, article_count: int) -> dict[str, object]:
    official = document.official_article_id
    return {
        "id": document.pk,
        "name": document.name,
        "title": document.title,
        "doc_number": document.doc_number,
        "issuers": list(document.issuers or []),
        "category": document.category,
        "signed_on": document.signed_on,
        "published_on": document.published_on,
        "effective_on": document.effective_on,
        "expires_on": document.expires_on,
        "status": document.status_shown(),
        "topic": document.topic,
        "aliases": list(document.aliases or []),
        "article_count": article_count,
        "official_article_id": official,
        "url": document.get_absolute_url(),
    }


@api.get(
    "/policies",
    response={200: PolicyListOut},
    summary="政策文件库",
    description=(
        "与 /policy/ 页面相同：q 检索文件名称、简称、文号（任意括号）和别名；"
        + "、".join(LIBRARY_FACETS)
        + " 可重复出现（同一项“或”，不同项“且”）；sort 可选 discussed（讨论最多）、newest、oldest。"
        "页码超过末页时 results 为空。"
    ),
)
def policies_list(
    request: HttpRequest,
    q: str = "",
    issuer: Query[list[str]] = None,
    category: Query[list[str]] = None,
    year: Query[list[str]] = None,
    status: Query[list[str]] = None,
    topic: Query[list[str]] = None,
    sort: Literal["discussed", "newest", "oldest"] = "discussed",
    page: int = 1,
):
    params = PolicyLibraryForm(request.GET).params(data=request.GET)
    library = policy_library_search(params=params)
    return Status(
        200,
        {
            "count": library.page.paginator.count,
            "page": library.page.number,
            "num_pages": library.page.paginator.num_pages,
            "match_id": library.match.pk if library.match else None,
            "results": [
                policy_payload(document=doc, article_count=doc.article_count)
                for doc in library.page.object_list
            ],
            "facets": {
                name: [{"value": value, "count": count} for value, count, _selected in library.facets[name]]
                for name in LIBRARY_FACETS
            },
        },
    )


@api.get(
    "/policies/{id}",
    response={200: PolicyDetailOut, 404: ErrorOut},
    summary="政策文件详情",
    description="一份文件的记录：字段同列表，另有它引用和被引用的文件。",
)
def policy_read(request: HttpRequest, id: int):
    document = PolicyDocument.objects.filter(pk=id).first()
    if document is None:
        return Status(404, {"error": "政策文件不存在。", "fields": {}})
    detail = policy_document_detail(document=document)
    count = document.mentions.filter(article__status=Article.Status.PUBLISHED).count()

    return Status(
        200,
        {
            **policy_payload(document=document, article_count=count),
            "cites": [policy_ref(document=d) for d in detail["cites"]],
            "cited_by": [policy_ref(document=d) for d in detail["cited_by"]],
        },
    )
