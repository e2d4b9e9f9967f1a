"""Arrays read from segments are kept across commits and stay right, on a real Whoosh index.

After each commit the view over the new generation (sharing the kept arrays) must
answer exactly as a view built from nothing.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.fields import DATETIME, ID, Schema

from search.engines.whoosh.analysis import word_analyzer
from search.engines.whoosh.caches import SegmentArrays
from search.engines.whoosh.schema import WordField
from search.engines.whoosh.view import IndexView

D = datetime.datetime


def _schema() -> Schema:
    return Schema(
        key=ID(stored=True, unique=True),
        text=WordField(analyzer=word_analyzer(), stored=False, phrase=True),
        source=ID(stored=False, sortable=True),
        published=DATETIME(stored=False, sortable=True),
    )


def _add(ix, docs: dict[str, tuple[str, str, D]], *, delete: tuple[str, ...] = ()) -> None:
    writer = ix.writer()
    for key in delete:
        writer.delete_by_term("key", key)
    for key, (text, source, published) in docs.items():
        writer.update_document(key=key, text=text, source=source, published=published)
    writer.commit(merge=False)  # keep one segment per commit


def _answers(view: IndexView) -> dict:
    def keys(mask: np.ndarray) -> list[str]:
        return sorted(view.reader.stored_fields(int(d))["key"] for d in np.flatnonzero(mask & view.live))

    phrase_mask, phrase_scores = view.evaluate(wq.Phrase("text", ["alpha", "beta"]))
    term_mask, term_scores = view.evaluate(wq.Term("text", "gamma"))
    by_key = lambda scores: {  # noqa: E731
        view.reader.stored_fields(int(d))["key"]: round(float(scores[d]), 5)
        for d in np.flatnonzero(scores * view.live)
    }
    return {
        "phrase": keys(phrase_mask),
        "phrase_scores": by_key(phrase_scores),
        "term": keys(term_mask),
        "term_scores": by_key(term_scores),
        "sources": view.facet_counts(fieldname="source", mask=view.live),
        "newest": [
            view.reader.stored_fields(d)["key"]
            for d in view.top(mask=view.live, scores=None, sort="newest", limit=10)
        ],
        "containing": sorted(view.terms_containing(fieldname="text", needle="alp")),
    }


@pytest.fixture
def ix(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), _schema())
    _add(ix, {"a": ("alpha beta gamma", "甲", D(2024, 1, 1)), "b": ("gamma delta", "乙", D(2024, 2, 1))})
    _add(
        ix,
        {"c": ("alpha delta beta", "甲", D(2024, 3, 1)), "d": ("alphabet alpha beta", "丙", D(2024, 4, 1))},
    )
    yield ix
    ix.close()


def test_views_after_commits_answer_like_views_built_from_nothing(ix):
    store = SegmentArrays()
    searcher = ix.searcher()
    first = IndexView(searcher, store=store)
    before = _answers(first)
    assert before["phrase"] == ["a", "d"]
    assert before["sources"] == {"甲": 2, "乙": 1, "丙": 1}

    # a delete, an update (delete + add) and a new document, in a new segment
    _add(
        ix,
        {"c": ("alpha beta again", "乙", D(2024, 5, 1)), "e": ("gamma alpha beta", "丁", D(2024, 6, 1))},
        delete=("b",),
    )
    searcher = searcher.refresh()
    kept = IndexView(searcher, store=store)
    fresh = IndexView(searcher, store=SegmentArrays())
    after = _answers(kept)
    assert after == _answers(fresh)
    assert after["phrase"] == ["a", "c", "d", "e"]
    assert after["term"] == ["a", "e"]
    assert after["sources"] == {"甲": 1, "乙": 1, "丙": 1, "丁": 1}
    assert after["newest"] == ["e", "c", "d", "a"]

    # the segments that were already read were not read again
    old_segments = {segid for _leaf, _offset, segid in first.leaves}
    assert old_segments <= {segid for _leaf, _offset, segid in kept.leaves}

    def not_again():
        raise AssertionError("an unchanged segment was read again")

    for segid in old_segments:
        store.get((segid, "postings", "text", b"alpha"), not_again)

    # a merge replaces the segments: what was kept for them is let go
    ix.optimize()
    searcher = searcher.refresh()
    merged = IndexView(searcher, store=store)
    store.retain({segid for _leaf, _offset, segid in merged.leaves})
    merged_answers = _answers(merged)
    assert merged_answers == _answers(IndexView(searcher, store=SegmentArrays()))
    # the same documents match; scores move only because deleted documents no longer count
    unscored = ("phrase", "term", "sources", "newest", "containing")
    assert {k: merged_answers[k] for k in unscored} == {k: after[k] for k in unscored}
    assert not any(key[0] in old_segments for key in store.keys())
    searcher.close()


def test_the_cache_keeps_within_its_budget(ix):
    store = SegmentArrays(budget_bytes=64)
    with ix.searcher() as searcher:
        view = IndexView(searcher, store=store)
        for term in ("alpha", "beta", "gamma", "delta"):
            view.postings("text", term)
            view.positions("text", term)
        assert store.nbytes <= 64 or len(store.keys()) == 1
        assert _answers(view) == _answers(IndexView(searcher, store=SegmentArrays()))
