"""The two searches of a ``QueryPlan`` (sent together, one ``msearch``), and the
``EngineResult`` read from their answers.

The hits and the counts are asked apart, because they cost differently and keep differently:

hits     query: bool, must = the compiled query (or match_all), filter = the date range and
         every facet's selection (OR within a facet, AND across facets);
         collapse on ``story`` (one hit per repost group, the first in the sort order);
         sort relevance: _score; newest/oldest: published; ties: article id ascending;
         no total: the counts say it
counts   size 0, the compiled query as a filter (matched, not scored) with the dates;
         aggs: per facet, a ``filter`` aggregation with every facet filter but its own,
         holding a ``terms`` aggregation (the values listed) and, when the facet has a
         selection, a ``terms`` aggregation of just the selected values; ``matched``: the
         documents under every filter; with collapse, the stories among them, counted (see
         ``result_read``). A size-0 search is what Elasticsearch's shard request cache
         keeps: the same query's counts (the home page's charts, a popular query, the next
         page) are read from it until the index next changes.
"""

from __future__ import annotations

import datetime
from typing import Any

from search.engines.contract import EngineResult, QueryPlan
from search.facets import facet_get
from search.limits import FACET_LIMIT

from .mapping import SHARD_SIZE, STORY_FIELD

# Below this many distinct stories the cardinality aggregation counts exactly (it keeps
# every hash until then; 40000 is Elasticsearch's maximum).
STORY_PRECISION = 40000

Dsl = dict[str, Any]


def facet_filters(plan: QueryPlan) -> dict[str, Dsl]:
    """Index field → the filter of one facet's selection."""
    out: dict[str, Dsl] = {}
    for selection in plan.filters:
        if selection.values:
            out[facet_get(name=selection.facet).field] = {
                "terms": {facet_get(name=selection.facet).field: list(selection.values)}
            }
    return out


def date_filter(plan: QueryPlan) -> Dsl | None:
    if not (plan.date_from or plan.date_to):
        return None
    bounds: dict[str, str] = {}
    if plan.date_from:
        bounds["gte"] = datetime.datetime.combine(plan.date_from, datetime.time.min).isoformat()
    if plan.date_to:
        bounds["lte"] = datetime.datetime.combine(plan.date_to, datetime.time.max).isoformat()
    return {"range": {"published": bounds}}


def _sort(plan: QueryPlan) -> list[Dsl]:
    sort = plan.sort
    if plan.query is None and sort == "relevance":
        sort = "newest"  # nothing to rank by
    tie = {"django_id": {"order": "asc"}}
    if sort == "relevance":
        return [{"_score": {"order": "desc"}}, tie]
    # an article without a date sorts as the oldest (as in the Whoosh engine)
    if sort == "oldest":
        return [{"published": {"order": "asc", "missing": "_first"}}, tie]
    return [{"published": {"order": "desc", "missing": "_last"}}, tie]


def _all(filters: list[Dsl]) -> Dsl:
    return {"bool": {"filter": filters}} if filters else {"match_all": {}}


def hits_body(plan: QueryPlan, *, query: Dsl | None) -> Dsl:
    """The page's documents: ranked, filtered, collapsed."""
    filters = [*facet_filters(plan).values()]
    dates = date_filter(plan)
    if dates:
        filters.insert(0, dates)
    body: Dsl = {
        "query": {"bool": {"must": [query or {"match_all": {}}], "filter": filters}},
        "size": max(plan.limit, 1),
        "sort": _sort(plan),
        "_source": False,
        "track_total_hits": False,
    }
    if plan.collapse:
        body["collapse"] = {"field": STORY_FIELD}
    return body


def counts_body(plan: QueryPlan, *, query: Dsl | None) -> Dsl:
    """How many match (documents or stories) and the facet counts."""
    filters = facet_filters(plan)
    dates = date_filter(plan)
    matching = [query] if query is not None else []
    if dates:
        matching.append(dates)
    aggs: Dsl = {"matched": {"filter": _all(list(filters.values()))}}
    for name in plan.facets:
        facet = facet_get(name=name)
        # counted with every other facet's filter, not its own (multi-select)
        others = [f for field, f in filters.items() if field != facet.field]
        order = [{"_key": "desc"}] if facet.order == "value_desc" else [{"_count": "desc"}, {"_key": "asc"}]
        inner: Dsl = {
            "values": {
                "terms": {"field": facet.field, "size": FACET_LIMIT, "shard_size": SHARD_SIZE, "order": order}
            }
        }
        if facet.field in filters:
            selected = filters[facet.field]["terms"][facet.field]
            inner["selected"] = {"terms": {"field": facet.field, "include": selected, "size": len(selected)}}
        aggs[f"facet_{name}"] = {"filter": _all(others), "aggs": inner}
    if plan.collapse:
        aggs["matched"]["aggs"] = {
            # documents in no story each count once; stories count once however many
            "alone": {"filter": {"range": {STORY_FIELD: {"lte": 0}}}},
            "grouped": {
                "filter": {"range": {STORY_FIELD: {"gt": 0}}},
                "aggs": {
                    "count": {"cardinality": {"field": STORY_FIELD, "precision_threshold": STORY_PRECISION}}
                },
            },
        }
    return {"query": _all(matching), "size": 0, "aggs": aggs, "track_total_hits": False}


def result_read(plan: QueryPlan, *, hits: Dsl, counts: Dsl) -> EngineResult:
    found = hits.get("hits", {}).get("hits", ())
    ids = tuple(int(hit["_id"].rsplit(".", 1)[-1]) for hit in found)[: max(plan.limit, 1)]
    aggs = counts.get("aggregations", {})
    matched = aggs["matched"]
    if plan.collapse:
        count = int(matched["alone"]["doc_count"]) + int(matched["grouped"]["count"]["value"])
    else:
        count = int(matched["doc_count"])
    facets: dict[str, dict[str, int]] = {}
    for name in plan.facets:
        facet = aggs.get(f"facet_{name}", {})
        values = {str(b["key"]): int(b["doc_count"]) for b in facet.get("values", {}).get("buckets", ())}
        for bucket in facet.get("selected", {}).get("buckets", ()):
            values[str(bucket["key"])] = int(bucket["doc_count"])
        facets[name] = {value: n for value, n in values.items() if n}
    return EngineResult(ids=ids, count=count, facets=facets, documents=int(matched["doc_count"]))
