"""Compiling a ``QueryPlan`` into Whoosh queries.

A proper word match beats a match inside a longer word, the title beats the body, the
spelling typed beats its synonyms. Parts of words (心理 → 心理健康, 税 → 增值税) are
expanded against the index's own term list (``expand``), and a run that stretches over
word boundaries the query did not have (安全评估|申报 in 数据出境安全评估|申报) is looked
up as sequences of indexed words (``span``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

from whoosh import query as wq

from search.engines.contract import AnyOf, Not, QueryNode, QueryPlan, Spelling, Term
from search.engines.weights import (
    BOOST_SYNONYM,
    BOOST_TEXT,
    BOOST_TEXT_SUB,
    BOOST_TITLE,
    BOOST_TITLE_SUB,
    BOOST_UNIT,
)
from search.facets import facet_get
from zhtext.analysis import query_segments

# Indexed words containing a needle, for a field.
Expand = Callable[..., list[str]]
# Ways a needle stretches over consecutive indexed words (alternatives per position).
Span = Callable[..., list[list[list[str]]]]


def plan_query(node: QueryNode, *, title_only: bool, expand: Expand, span: Span) -> wq.Query | None:
    """The Whoosh query of a plan's query tree; None when nothing in it can match."""
    if isinstance(node, Term):
        # The spelling typed counts fully; its synonyms find more but rank below it, so
        # an article that only says "ransomware" does not outrank one about 勒索软件.
        variants = [
            _rescale(q, BOOST_SYNONYM) if spelling.synonym else q
            for spelling in node.spellings
            for q in (
                _variant_query(
                    spelling=spelling, phrase=node.phrase, title_only=title_only, expand=expand, span=span
                ),
            )
            if q is not None
        ]
        if not variants:
            return None
        return variants[0] if len(variants) == 1 else wq.Or(variants)
    if isinstance(node, Not):
        return plan_query(node.child, title_only=title_only, expand=expand, span=span)
    if isinstance(node, AnyOf):
        parts = [
            p
            for p in (plan_query(c, title_only=title_only, expand=expand, span=span) for c in node.children)
            if p is not None
        ]
        return wq.Or(parts) if parts else None
    positives = [c for c in node.children if not isinstance(c, Not)]
    negatives = [c.child for c in node.children if isinstance(c, Not)]
    pos = [
        p
        for p in (plan_query(c, title_only=title_only, expand=expand, span=span) for c in positives)
        if p is not None
    ]
    neg = [
        p
        for p in (plan_query(c, title_only=title_only, expand=expand, span=span) for c in negatives)
        if p is not None
    ]
    if not pos:
        return None
    positive = pos[0] if len(pos) == 1 else wq.And(pos)
    if not neg:
        return positive
    return wq.AndNot(positive, neg[0] if len(neg) == 1 else wq.Or(neg))


def plan_filters(plan: QueryPlan) -> tuple[dict[str, wq.Query], wq.Query | None]:
    """(index field → filter of one facet's selection, the date range or None)."""
    filters: dict[str, wq.Query] = {}
    for selection in plan.filters:
        if selection.values:
            fieldname = facet_get(name=selection.facet).field
            terms = [wq.Term(fieldname, v) for v in selection.values]
            filters[fieldname] = terms[0] if len(terms) == 1 else wq.Or(terms)
    base = None
    if plan.date_from or plan.date_to:
        start = datetime.datetime.combine(plan.date_from, datetime.time.min) if plan.date_from else None
        end = datetime.datetime.combine(plan.date_to, datetime.time.max) if plan.date_to else None
        base = wq.DateRange("published", start, end)
    return filters, base


def _sub_query(*, fieldname: str, segments, boost: float, expand: Expand) -> wq.Query | None:
    """Each run of the query inside longer indexed words, e.g. 心理 → 心理健康, 税 → 增值税.

    The index holds precise words only; ``expand`` returns the indexed words that
    contain a run (from the index's own term list), so this costs a dictionary
    lookup per query instead of indexing every character and character pair.
    """
    parts = []
    for segment in segments:
        terms = expand(fieldname=fieldname, needle=segment.text)
        if not terms:
            return None
        parts.append(wq.Or([wq.Term(fieldname, t, boost=boost) for t in terms]))
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _exact_query(*, fieldname: str, words, boost: float) -> wq.Query:
    if len(words) == 1:
        return wq.Term(fieldname, words[0], boost=boost)
    return wq.Phrase(fieldname, list(words), boost=boost)


def _unit_query(*, fieldname: str, words, boost: float, sub_boost: float, expand: Expand, span: Span):
    """One unit in one field: its words in a row, or inside (or across) longer indexed words."""
    clauses = [_exact_query(fieldname=fieldname, words=words, boost=boost)]
    joined = "".join(words)
    clauses += [wq.Term(fieldname, t, boost=sub_boost) for t in expand(fieldname=fieldname, needle=joined)]
    if len(words) > 1 and query_segments(joined)[:1] == [("cjk", joined)]:
        clauses += _span_queries(fieldname=fieldname, needle=joined, boost=sub_boost, span=span)
    return clauses[0] if len(clauses) == 1 else wq.Or(clauses)


def _variant_query(*, spelling: Spelling, phrase: bool, title_only: bool, expand: Expand, span: Span):
    """One spelling of a query word.

    Quoted text must match word for word. Unquoted text typed without spaces (俄罗斯黑客)
    needs each of its words anywhere in the article; the words in a row score again
    on top, so adjacent matches rank first.
    """
    if not spelling.words or not spelling.segments:
        return None
    strict = _strict_clauses(
        spelling=spelling, phrase=phrase, title_only=title_only, expand=expand, span=span
    )
    if phrase:
        return wq.Or(strict)
    if len(spelling.units) <= 1:
        return wq.Or(strict)
    fields = (
        [("title", BOOST_TITLE, BOOST_TITLE_SUB)]
        if title_only
        else [("text", BOOST_TEXT, BOOST_TEXT_SUB), ("title", BOOST_TITLE, BOOST_TITLE_SUB)]
    )
    loose = wq.And(
        [
            wq.Or(
                [
                    _unit_query(
                        fieldname=f,
                        words=unit,
                        boost=b * BOOST_UNIT,
                        sub_boost=sb * BOOST_UNIT,
                        expand=expand,
                        span=span,
                    )
                    for f, b, sb in fields
                ]
            )
            for unit in spelling.units
        ]
    )
    return wq.Or([loose, *strict])


def _strict_clauses(
    *, spelling: Spelling, phrase: bool, title_only: bool, expand: Expand, span: Span
) -> list:
    """The query word as written: its words in a row (or inside longer indexed words)."""
    words, segments = spelling.words, spelling.segments
    text_field = "title" if title_only else "text"
    clauses = [_exact_query(fieldname=text_field, words=words, boost=BOOST_TEXT)]
    if not title_only:
        clauses.append(_exact_query(fieldname="title", words=words, boost=BOOST_TITLE))
    # A quoted phrase that spans several runs (Latin + Chinese, spaces) must match
    # word for word; a single run may also sit inside a longer indexed word.
    if not phrase or len(segments) == 1:
        subs = (
            [(text_field, BOOST_TEXT_SUB)]
            if title_only
            else [("text", BOOST_TEXT_SUB), ("title", BOOST_TITLE_SUB)]
        )
        if len(segments) > 1:
            # each run either as its own words or inside a longer word
            for fieldname, boost in subs:
                runs = []
                for segment in segments:
                    alternatives = [_exact_query(fieldname=fieldname, words=segment.words, boost=boost)]
                    alternatives += [
                        wq.Term(fieldname, t, boost=boost)
                        for t in expand(fieldname=fieldname, needle=segment.text)
                    ]
                    runs.append(wq.Or(alternatives))
                clauses.append(wq.And(runs))
        else:
            for fieldname, boost in subs:
                sub = _sub_query(fieldname=fieldname, segments=segments, boost=boost, expand=expand)
                if sub is not None:
                    clauses.append(sub)
                if segments[0].kind == "cjk" and len(words) > 1:
                    clauses.extend(
                        _span_queries(fieldname=fieldname, needle=segments[0].text, boost=boost, span=span)
                    )
    return clauses


def _span_queries(*, fieldname: str, needle: str, boost: float, span: Span) -> list:
    """The run across word boundaries the query did not have (安全评估|申报 in 数据出境安全评估|申报)."""
    out = []
    for way in span(fieldname=fieldname, needle=needle):
        steps = [
            wq.Term(fieldname, alts[0], boost=boost)
            if len(alts) == 1
            else wq.Or([wq.Term(fieldname, t, boost=boost) for t in alts])
            for alts in way
        ]
        out.append(wq.Sequence(steps, boost=boost))
    return out


def _rescale(q: wq.Query, factor: float) -> wq.Query:
    """Multiply the boost of every term and phrase under ``q`` by ``factor`` (in place)."""
    if isinstance(q, (wq.Term, wq.Phrase)):
        q.boost *= factor
    elif isinstance(q, wq.AndNot):
        _rescale(q.a, factor)
    else:
        for sub in getattr(q, "subqueries", ()):
            _rescale(sub, factor)
    return q
