"""Compiling a ``QueryPlan`` into Elasticsearch's query DSL.

The same query as the Whoosh engine's ``compile`` builds, clause for clause and boost for
boost: exact words (``term``) and words in a row (``match_phrase`` over the whitespace-joined
tokens) first, parts of longer indexed words (``expand``) and runs across word boundaries
(``span``, as ``span_near`` of ``span_or``s) at a lower weight, the title above the body,
synonyms at half weight. OR is a ``bool.should`` with ``minimum_should_match: 1`` and AND a
``bool.must``; both add up the scores of the clauses that match, as Whoosh's do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from search.engines.contract import AnyOf, Not, QueryNode, Spelling, Term
from search.engines.weights import (
    BOOST_SYNONYM,
    BOOST_TEXT,
    BOOST_TEXT_SUB,
    BOOST_TITLE,
    BOOST_TITLE_SUB,
    BOOST_UNIT,
)
from zhtext.analysis import query_segments

# Clauses one bool query may hold (Lucene's maxClauseCount in Elasticsearch 7).
MAX_CLAUSES = 1024

Expand = Callable[..., list[str]]
Span = Callable[..., list[list[list[str]]]]
Dsl = dict[str, Any]


def any_of(clauses: list[Dsl]) -> Dsl:
    if len(clauses) == 1:
        return clauses[0]
    if len(clauses) > MAX_CLAUSES:
        # nested ORs add up the same scores
        clauses = [any_of(clauses[i : i + MAX_CLAUSES]) for i in range(0, len(clauses), MAX_CLAUSES)]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def all_of(clauses: list[Dsl]) -> Dsl:
    return clauses[0] if len(clauses) == 1 else {"bool": {"must": clauses}}


def term(fieldname: str, word: str, boost: float) -> Dsl:
    return {"term": {fieldname: {"value": word, "boost": boost}}}


def exact(fieldname: str, words, boost: float) -> Dsl:
    if len(words) == 1:
        return term(fieldname, words[0], boost)
    # the field's analyzer (whitespace) splits the joined words back into the same tokens
    return {"match_phrase": {fieldname: {"query": " ".join(words), "boost": boost}}}


class PlanCompiler:
    """One plan's query; ``expand`` and ``span`` answer from the index's word list."""

    def __init__(self, *, title_only: bool, expand: Expand, span: Span) -> None:
        self.title_only = title_only
        self.expand = expand
        self.span = span

    def node(self, node: QueryNode) -> Dsl | None:
        """The query of a plan's query tree; None when nothing in it can match."""
        if isinstance(node, Term):
            # Synonyms find more but rank below the spelling typed.
            variants = [
                q
                for spelling in node.spellings
                for q in (
                    self._variant(
                        spelling=spelling,
                        phrase=node.phrase,
                        factor=BOOST_SYNONYM if spelling.synonym else 1.0,
                    ),
                )
                if q is not None
            ]
            return any_of(variants) if variants else None
        if isinstance(node, Not):
            return self.node(node.child)
        if isinstance(node, AnyOf):
            parts = [p for p in (self.node(c) for c in node.children) if p is not None]
            return any_of(parts) if parts else None
        positives = [self.node(c) for c in node.children if not isinstance(c, Not)]
        negatives = [self.node(c.child) for c in node.children if isinstance(c, Not)]
        pos = [p for p in positives if p is not None]
        neg = [p for p in negatives if p is not None]
        if not pos:
            return None
        if not neg:
            return all_of(pos)
        return {"bool": {"must": pos, "must_not": neg}}

    # --- one spelling ----------------------------------------------------------------

    def _variant(self, *, spelling: Spelling, phrase: bool, factor: float) -> Dsl | None:
        """Quoted text word for word; unquoted text with several units needs each unit
        somewhere, and the words in a row score again on top."""
        if not spelling.words or not spelling.segments:
            return None
        strict = self._strict(spelling=spelling, phrase=phrase, factor=factor)
        if phrase or len(spelling.units) <= 1:
            return any_of(strict)
        fields = (
            [("title", BOOST_TITLE, BOOST_TITLE_SUB)]
            if self.title_only
            else [("text", BOOST_TEXT, BOOST_TEXT_SUB), ("title", BOOST_TITLE, BOOST_TITLE_SUB)]
        )
        loose = all_of(
            [
                any_of(
                    [
                        self._unit(
                            fieldname=f,
                            words=unit,
                            boost=b * BOOST_UNIT * factor,
                            sub_boost=sb * BOOST_UNIT * factor,
                        )
                        for f, b, sb in fields
                    ]
                )
                for unit in spelling.units
            ]
        )
        return any_of([loose, *strict])

    def _unit(self, *, fieldname: str, words, boost: float, sub_boost: float) -> Dsl:
        clauses = [exact(fieldname, words, boost)]
        joined = "".join(words)
        clauses += [term(fieldname, t, sub_boost) for t in self.expand(fieldname=fieldname, needle=joined)]
        if len(words) > 1 and query_segments(joined)[:1] == [("cjk", joined)]:
            clauses += self._spans(fieldname=fieldname, needle=joined, boost=sub_boost)
        return any_of(clauses)

    def _strict(self, *, spelling: Spelling, phrase: bool, factor: float) -> list[Dsl]:
        words, segments = spelling.words, spelling.segments
        text_field = "title" if self.title_only else "text"
        clauses = [exact(text_field, words, BOOST_TEXT * factor)]
        if not self.title_only:
            clauses.append(exact("title", words, BOOST_TITLE * factor))
        if phrase and len(segments) > 1:
            return clauses
        subs = (
            [(text_field, BOOST_TEXT_SUB * factor)]
            if self.title_only
            else [("text", BOOST_TEXT_SUB * factor), ("title", BOOST_TITLE_SUB * factor)]
        )
        for fieldname, boost in subs:
            if len(segments) > 1:
                # each run either as its own words or inside a longer word
                runs = [
                    any_of(
                        [
                            exact(fieldname, segment.words, boost),
                            *(
                                term(fieldname, t, boost)
                                for t in self.expand(fieldname=fieldname, needle=segment.text)
                            ),
                        ]
                    )
                    for segment in segments
                ]
                clauses.append(all_of(runs))
                continue
            sub = self._sub(fieldname=fieldname, segments=segments, boost=boost)
            if sub is not None:
                clauses.append(sub)
            if segments[0].kind == "cjk" and len(words) > 1:
                clauses += self._spans(fieldname=fieldname, needle=segments[0].text, boost=boost)
        return clauses

    def _sub(self, *, fieldname: str, segments, boost: float) -> Dsl | None:
        parts = []
        for segment in segments:
            found = self.expand(fieldname=fieldname, needle=segment.text)
            if not found:
                return None
            parts.append(any_of([term(fieldname, t, boost) for t in found]))
        return all_of(parts)

    def _spans(self, *, fieldname: str, needle: str, boost: float) -> list[Dsl]:
        """The run across word boundaries the query did not have (安全评估|申报)."""
        out = []
        for way in self.span(fieldname=fieldname, needle=needle):
            steps = [
                {"span_term": {fieldname: alts[0]}}
                if len(alts) == 1
                else {"span_or": {"clauses": [{"span_term": {fieldname: t}} for t in alts]}}
                for alts in way
            ]
            out.append({"span_near": {"clauses": steps, "slop": 0, "in_order": True, "boost": boost}})
        return out
