"""The Elasticsearch engine's DSL for a plan, without a server: boosts, facets, collapse."""

from __future__ import annotations

from search.engines.contract import FacetFilter, QueryPlan, Segment, Spelling, Term
from search.engines.elasticsearch.compile import MAX_CLAUSES, PlanCompiler, any_of
from search.engines.elasticsearch.request import counts_body, hits_body


def spelling(text: str, *, synonym: bool = False) -> Spelling:
    return Spelling(
        text=text,
        words=(text,),
        segments=(Segment(kind="cjk", text=text, words=(text,)),),
        units=((text,),),
        synonym=synonym,
    )


def compiled(node, *, expand=None) -> dict:
    compiler = PlanCompiler(title_only=False, expand=expand or (lambda **kw: []), span=lambda **kw: [])
    return compiler.node(node)


def boosts(dsl) -> list[tuple[str, str, float]]:
    """(field, word, boost) of every term query in ``dsl``, in order."""
    if isinstance(dsl, dict):
        if "term" in dsl:
            ((field, spec),) = dsl["term"].items()
            return [(field, spec["value"], spec["boost"])]
        return [b for value in dsl.values() for b in boosts(value)]
    if isinstance(dsl, list):
        return [b for value in dsl for b in boosts(value)]
    return []


def test_exact_words_rank_above_parts_of_words_and_synonyms_at_half_weight():
    node = Term(text="勒索", phrase=False, spellings=(spelling("勒索"), spelling("ransomware", synonym=True)))
    expand = {("text", "勒索"): ["勒索软件"], ("title", "勒索"): ["勒索软件"]}
    dsl = compiled(node, expand=lambda *, fieldname, needle: expand.get((fieldname, needle), []))
    assert boosts(dsl) == [
        ("text", "勒索", 1.0),
        ("title", "勒索", 3.0),
        ("text", "勒索软件", 0.3),
        ("title", "勒索软件", 1.0),
        ("text", "ransomware", 0.5),
        ("title", "ransomware", 1.5),
    ]


def test_a_long_expansion_is_split_below_the_clause_limit():
    clauses = [{"term": {"text": {"value": f"w{i}", "boost": 0.3}}} for i in range(MAX_CLAUSES * 2 + 5)]
    dsl = any_of(clauses)
    assert len(dsl["bool"]["should"]) == 3
    assert all(len(part["bool"]["should"]) <= MAX_CLAUSES for part in dsl["bool"]["should"])
    assert len(boosts(dsl)) == len(clauses)


def test_a_facet_is_counted_with_the_other_facets_filters_only():
    plan = QueryPlan(
        query=None,
        filters=(
            FacetFilter(facet="source", values=("安全客",)),
            FacetFilter(facet="year", values=("2024",)),
        ),
        facets=("source", "year", "month"),
    )
    hits = hits_body(plan, query=None)
    counts = counts_body(plan, query=None)
    source_filter = {"terms": {"source_exact": ["安全客"]}}
    year_filter = {"terms": {"year": ["2024"]}}
    # the hits are under every selection
    assert hits["query"]["bool"]["filter"] == [source_filter, year_filter]
    aggs = counts["aggs"]
    assert aggs["facet_source"]["filter"] == {"bool": {"filter": [year_filter]}}
    assert aggs["facet_year"]["filter"] == {"bool": {"filter": [source_filter]}}
    assert aggs["facet_month"]["filter"] == {"bool": {"filter": [source_filter, year_filter]}}
    # the selected values are counted even when they are not among the most frequent
    assert aggs["facet_source"]["aggs"]["selected"]["terms"]["include"] == ["安全客"]
    # collapsed: one hit per story, stories counted under every filter
    assert hits["collapse"] == {"field": "story"}
    assert aggs["matched"]["filter"] == {"bool": {"filter": [source_filter, year_filter]}}
    assert set(aggs["matched"]["aggs"]) == {"alone", "grouped"}
    # the counts are a size-0 search (the shard request cache keeps those), nothing scored
    assert counts["size"] == 0 and "sort" not in counts
    # nothing to rank by: newest first, ties by article id
    assert hits["sort"][0] == {"published": {"order": "desc", "missing": "_last"}}
    assert hits["sort"][1] == {"django_id": {"order": "asc"}}
