"""The search facets, defined once.

The index definition (``search_indexes``), the engine (index fields and their kind), the
form and the API (URL parameters, labels, types), the search page (labels, order) and the
selector (which ``SearchParams`` attribute holds a selection) all read this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Facet:
    name: str  # key of SearchPage.facets and of the API's "facets"
    param: str  # URL parameter (repeatable)
    field: str  # index field
    multi_valued: bool  # an article may have several values (authors, tags, policies, issuers)
    label: str  # shown on the search page and in form errors
    # how the URL parameter is read and checked: free text, a four-digit year, "2024-05"
    param_type: Literal["text", "year", "month"]
    params_attr: str  # the SearchParams attribute holding the selected values
    description: str  # the API's parameter description
    # values listed by count (most first), or by value, newest first (dates)
    order: Literal["count", "value_desc"] = "count"


# The values of the "doctype" facet: an official text of a policy document, or news about it.
DOCTYPE_OFFICIAL = "政策原文"
DOCTYPE_NEWS = "新闻报道"

FACETS: tuple[Facet, ...] = (
    Facet(
        name="source",
        param="source",
        field="source_exact",
        multi_valued=False,
        label="来源",
        param_type="text",
        params_attr="sources",
        description="来源，可重复",
    ),
    Facet(
        name="author",
        param="author",
        field="author_exact",
        multi_valued=True,
        label="作者",
        param_type="text",
        params_attr="authors",
        description="作者，可重复",
    ),
    Facet(
        name="tag",
        param="tag",
        field="tag_exact",
        multi_valued=True,
        label="标签",
        param_type="text",
        params_attr="tags",
        description="标签，可重复",
    ),
    Facet(
        name="policy",
        param="policy",
        field="policy",
        multi_valued=True,
        label="提及文件",
        param_type="text",
        params_attr="policies",
        description="提及的政策文件（名称或文号），可重复",
    ),
    Facet(
        name="issuer",
        param="issuer",
        field="issuer_exact",
        multi_valued=True,
        label="发文机关",
        param_type="text",
        params_attr="issuers",
        description="发文机关（文章是政策原文时，该文件的发文机关），可重复",
    ),
    Facet(
        name="doctype",
        param="type",
        field="doctype",
        multi_valued=False,
        label="文章类型",
        param_type="text",
        params_attr="doctypes",
        description="文章类型：政策原文（文件正文）或 新闻报道，可重复",
    ),
    Facet(
        name="year",
        param="year",
        field="year",
        multi_valued=False,
        label="年份",
        param_type="year",
        params_attr="years",
        description="年份，可重复，如 2024",
        order="value_desc",
    ),
    Facet(
        name="month",
        param="month",
        field="month",
        multi_valued=False,
        label="月份",
        param_type="month",
        params_attr="months",
        description="月份，可重复，如 2024-05",
        order="value_desc",
    ),
)

FACETS_BY_NAME: dict[str, Facet] = {facet.name: facet for facet in FACETS}
FACET_NAMES: tuple[str, ...] = tuple(FACETS_BY_NAME)


def facet_get(*, name: str) -> Facet:
    return FACETS_BY_NAME[name]
