"""Reads for the site's pages that need the search engine: the home page's topic charts."""

from __future__ import annotations

import logging

from django.core.cache import cache

from articles.selectors import CACHE_SECONDS, Reference
from charts.months import months_ending
from search.engines.contract import EngineUnavailable
from search.selectors import QuerySyntaxError, SearchParams, article_search

from .models import TrendTopic

logger = logging.getLogger(__name__)


def topic_trends(*, reference: Reference, months: int = 24) -> list[dict]:
    """For each active curated topic, its articles per month as the search finds them.

    Counted by the search index (same query, same synonyms as the search page, so a bar
    and the search it links to agree) and cached until the articles change.
    """
    topics = list(TrendTopic.objects.filter(active=True).order_by("position", "id"))
    key = "browse:topic-trends:{}:{}".format(reference.stamp, "|".join(f"{t.pk}={t.query}" for t in topics))
    series_by_topic = cache.get(key)
    if series_by_topic is None:
        try:
            series_by_topic = {topic.pk: _topic_months(query=topic.query) for topic in topics}
        except EngineUnavailable as exc:
            # Nor may a search engine that is down; nothing is cached, so the trends come
            # back with the engine.
            logger.warning("trend topics not counted: %s", exc)
            return []
        cache.set(key, series_by_topic, CACHE_SECONDS)
    # One time axis for every topic, ending at the reference month, so charts compare.
    axis = months_ending(day=reference.day, count=months)
    out = []
    for topic in topics:
        counts = series_by_topic.get(topic.pk)
        if counts is None:
            continue
        series = [(month, counts.get(month, 0)) for month in axis]
        out.append({"topic": topic, "series": series, "total": sum(n for _, n in series)})
    return out


def _topic_months(*, query: str) -> dict[str, int] | None:
    try:
        page = article_search(params=SearchParams(q=query, page_size=0))
    except QuerySyntaxError:
        # An editor's topic query with a typo must not take the home page down.
        logger.warning("trend topic query cannot be parsed: %r", query)
        return None
    return {fv.value: fv.count for fv in page.facets.get("month", [])}
