"""Template helpers for the search page: querystrings that keep every other parameter.

Facet links, filter chips and pagination are all plain GET links, so a result page can
be bookmarked or shared; these helpers build those links from the current querystring.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django import template
from django.http import QueryDict

from articles.untrusted import url_http_only

from ..facets import DOCTYPE_OFFICIAL

register = template.Library()

# Changing what is searched for must send the reader back to the first page.
RESETS_PAGE = "page"


def querystring_clean(*, query: QueryDict) -> QueryDict:
    """A mutable copy without empty values, so links stay short and readable."""
    cleaned = QueryDict(mutable=True)
    for key, values in query.lists():
        kept = [value for value in values if value.strip()]
        if kept:
            cleaned.setlist(key, kept)
    return cleaned


def querystring_encode(*, query: QueryDict) -> str:
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else ""


def querystring_toggle(*, query: QueryDict, key: str, value: str) -> str:
    """Add ``value`` to the repeatable parameter ``key``, or remove it when present."""
    updated = querystring_clean(query=query)
    values = updated.getlist(key)
    if value in values:
        values = [item for item in values if item != value]
    else:
        values = [*values, value]
    if values:
        updated.setlist(key, values)
    else:
        updated.pop(key, None)
    updated.pop(RESETS_PAGE, None)
    return querystring_encode(query=updated)


def querystring_replace(*, query: QueryDict, changes: Mapping[str, object]) -> str:
    """Set single-valued parameters; a value of None or "" removes the parameter."""
    updated = querystring_clean(query=query)
    for key, value in changes.items():
        if value is None or value == "":
            updated.pop(key, None)
        else:
            updated.setlist(key, [str(value)])
    return querystring_encode(query=updated)


def querystring_remove(*, query: QueryDict, keys: Iterable[str]) -> str:
    updated = querystring_clean(query=query)
    for key in [*keys, RESETS_PAGE]:
        updated.pop(key, None)
    return querystring_encode(query=updated)


@register.simple_tag
def toggle_query(query: QueryDict, key: str, value: object) -> str:
    return querystring_toggle(query=query, key=key, value=str(value))


@register.simple_tag
def replace_query(query: QueryDict, **changes: object) -> str:
    return querystring_replace(query=query, changes=changes)


@register.simple_tag
def remove_query(query: QueryDict, *keys: str) -> str:
    return querystring_remove(query=query, keys=keys)


@register.filter
def month_label(value: str) -> str:
    """ "2024-05" → "2024年5月"; anything else is shown as it is."""
    year, _, month = str(value).partition("-")
    if year.isdigit() and month.isdigit():
        return f"{year}年{int(month)}月"
    return str(value)


@register.filter
def date_label(value: datetime.date | None) -> str:
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


@dataclass(frozen=True)
class FilterChip:
    label: str
    value: str
    remove_url: str


FACET_LABELS = {"source": "来源", "author": "作者", "tag": "标签", "year": "年份", "month": "月份"}


@register.simple_tag
def filter_chips(query: QueryDict, cleaned: Mapping[str, object]) -> list[FilterChip]:
    """One removable chip per active filter, taken from the validated form data."""
    chips: list[FilterChip] = []
    for key, label in FACET_LABELS.items():
        for value in cleaned.get(key) or ():
            shown = (
                month_label(str(value)) if key == "month" else f"{value}年" if key == "year" else str(value)
            )
            chips.append(
                FilterChip(
                    label=label,
                    value=shown,
                    remove_url=querystring_toggle(query=query, key=key, value=str(value)),
                )
            )
    for key, label in (("date_from", "起始日期"), ("date_to", "截止日期")):
        value = cleaned.get(key)
        if isinstance(value, datetime.date):
            chips.append(
                FilterChip(
                    label=label,
                    value=date_label(value),
                    remove_url=querystring_remove(query=query, keys=[key]),
                )
            )
    if cleaned.get("in") == "title":
        chips.append(
            FilterChip(label="范围", value="仅标题", remove_url=querystring_remove(query=query, keys=["in"]))
        )
    return chips


# Parameters that the search form has no visible control for; carried as hidden inputs
# so a new keyword keeps the chosen filters.
HIDDEN_PARAMS = ("source", "author", "tag", "policy", "issuer", "type", "year", "month", "page_size")
# (type=政策原文 has a checkbox of its own: 只看政策原文)
OFFICIAL_ONLY = ("type", DOCTYPE_OFFICIAL)


@register.simple_tag
def hidden_filter_inputs(query: QueryDict) -> list[tuple[str, str]]:
    cleaned = querystring_clean(query=query)
    return [
        (key, value)
        for key in HIDDEN_PARAMS
        for value in cleaned.getlist(key)
        if (key, value) != OFFICIAL_ONLY
    ]


@register.filter
def safe_url(value: str) -> str:
    """Only http(s) links from crawled data may become hrefs (no javascript: URLs)."""
    return url_http_only(value=str(value or ""))
