"""Articles related to one article, found through the search index.

Our Whoosh schema stores no text and no term vectors (results are read back from the
database), so haystack's ``more_like_this`` has nothing to compare. Instead the
article's own keywords (extracted at ingest, best first) become an ``OR`` query run
through ``article_search``: BM25 ranks the articles sharing the most, and the rarest,
of those words first, which is what more-like-this does with term vectors.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Q

from articles.models import Article
from zhtext.analysis import text_words

from .selectors import QuerySyntaxError, SearchParams, article_search

RELATED_KEYWORDS = 8
# Extra hits asked for so that dropping the article itself and its reposts still leaves enough.
RELATED_OVERFETCH = 3


def article_keywords_top(*, article: Article, limit: int = RELATED_KEYWORDS) -> list[str]:
    """The article's best keywords as plain words; ingest may have left the list empty."""
    words: list[str] = []
    for item in article.keywords or []:
        word = item[0] if isinstance(item, list | tuple) and item else item
        word = str(word).strip()
        if word and any(char.isalnum() for char in word) and word not in words:
            words.append(word)
        if len(words) >= limit:
            break
    return words


def _query_word(word: str) -> str:
    # Keep letters and digits only, so a keyword can never be read as query syntax (quotes, -, OR).
    cleaned = "".join(char if char.isalnum() else " " for char in word).split()
    return " ".join(part for part in cleaned if part.upper() != "OR")


def related_query_text(*, article: Article) -> str:
    """An OR query of the article's keywords, or of the words of its title when it has none."""
    words = article_keywords_top(article=article)
    if not words:
        words = [w for w in text_words(article.title) if len(w) >= 2][:RELATED_KEYWORDS]
    parts = [part for part in (_query_word(word) for word in words) if part]
    # A keyword that splits into several parts is required as a whole: wrap it in brackets.
    parts = [f"({part})" if " " in part else part for part in parts]
    return " OR ".join(dict.fromkeys(parts))


def article_related(*, article: Article, limit: int = 5, exclude_ids: Iterable[int] = ()) -> list[Article]:
    """Up to ``limit`` published articles most like ``article``, best first.

    Never the article itself, nor another article of its story (its reposts), nor
    any id in ``exclude_ids``.
    """
    query_text = related_query_text(article=article)
    if not query_text or limit < 1:
        return []
    excluded = {article.pk, *exclude_ids}
    params = SearchParams(
        q=query_text, sort="relevance", page_size=(limit + len(excluded)) * RELATED_OVERFETCH
    )
    try:
        page = article_search(params=params)
    except QuerySyntaxError:
        return []
    ids = [hit.id for hit in page.results if hit.id not in excluded]
    if not ids:
        return []
    rows = Article.objects.filter(id__in=ids, status=Article.Status.PUBLISHED).select_related("source")
    if article.story_id:
        rows = rows.filter(~Q(story_id=article.story_id) | Q(story_id__isnull=True))
    by_id = {row.pk: row for row in rows.only("id", "title", "published_on", "source__name", "story_id")}
    return [by_id[pk] for pk in ids if pk in by_id][:limit]


def _neighbour_rows(*, article: Article):
    return (
        Article.objects.filter(source_id=article.source_id, status=Article.Status.PUBLISHED)
        .exclude(pk=article.pk)
        .only("id", "title", "published_on")
    )


def article_neighbours(*, article: Article) -> tuple[Article | None, Article | None]:
    """(previous, next) article of the same source in (published_on, id) order.

    Undated articles sort before dated ones, so every article has a place in the sequence.
    """
    date, pk = article.published_on, article.pk
    rows = _neighbour_rows(article=article)
    if date is None:
        earlier = Q(published_on__isnull=True, id__lt=pk)
        later = Q(published_on__isnull=True, id__gt=pk) | Q(published_on__isnull=False)
    else:
        earlier = Q(published_on__isnull=True) | Q(published_on__lt=date) | Q(published_on=date, id__lt=pk)
        later = Q(published_on__gt=date) | Q(published_on=date, id__gt=pk)
    previous = rows.filter(earlier).order_by(F("published_on").desc(nulls_last=True), "-id").first()
    following = rows.filter(later).order_by(F("published_on").asc(nulls_first=True), "id").first()
    return previous, following
