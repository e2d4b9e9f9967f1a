"""Title suggestions for the search boxes ("search as you type").

Suggestions come from the index, through the same ``article_search`` as the search
page restricted to titles, so they are as fast as a search and only ever name
published articles. What the reader typed is treated as plain words: quotes,
brackets and minus signs that are half-typed must not turn into query syntax errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from .limits import MAX_QUERY_CHARS
from .selectors import QuerySyntaxError, SearchParams, article_search

SUGGEST_MIN_CHARS = 2
SUGGEST_MAX_CHARS = MAX_QUERY_CHARS
SUGGEST_LIMIT = 8
# Words the query parser reads as operators; in a half-typed title they are just letters.
_OPERATOR_WORDS = {"OR", "AND"}


class SuggestQueryTooLong(ValueError):
    """The text is longer than any search box accepts; ``str()`` is the Chinese message."""


@dataclass(frozen=True)
class Suggestion:
    id: int
    title: str
    url: str


def suggest_query_text(*, text: str) -> str:
    """Letters, digits and CJK of ``text`` as space-separated words, without operators."""
    words = "".join(char if char.isalnum() else " " for char in text).split()
    return " ".join(word for word in words if word not in _OPERATOR_WORDS)


def title_suggestions(*, q: str, limit: int = SUGGEST_LIMIT) -> list[Suggestion]:
    """Up to ``limit`` published titles matching what was typed so far, best match first."""
    text = (q or "").strip()
    if len(text) > SUGGEST_MAX_CHARS:
        raise SuggestQueryTooLong(f"输入太长了，请控制在 {SUGGEST_MAX_CHARS} 个字以内。")
    query = suggest_query_text(text=text)
    if len(query.replace(" ", "")) < SUGGEST_MIN_CHARS:
        return []
    params = SearchParams(
        q=query, title_only=True, sort="relevance", page_size=max(1, min(limit, SUGGEST_LIMIT))
    )
    try:
        page = article_search(params=params)
    except QuerySyntaxError:
        return []
    return [Suggestion(id=hit.id, title=hit.title, url=hit.url) for hit in page.results]
