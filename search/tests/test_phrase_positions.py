"""Phrase matching on position arrays, on a real Whoosh index in a temp dir.

The same documents are indexed with the project's position format (``PositionArray``)
and with Whoosh's own pickled positions, which indexes built before the format change
still carry: both must give the same phrase hits and counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.fields import ID, TEXT, Schema

from search.engines.whoosh.analysis import word_analyzer
from search.engines.whoosh.schema import PositionArray, WordField
from search.engines.whoosh.view import IndexView

DOCS = {
    "twice": "alpha beta gamma and then alpha beta gamma again",
    "apart": "alpha and beta and gamma",
    "reversed": "gamma beta alpha",
    "start": "beta gamma first then nothing",
    "repeat": "delta delta delta",
    "other": "epsilon zeta",
}


def _schema(kind: str) -> Schema:
    if kind == "array":
        text = WordField(analyzer=word_analyzer(), stored=False, phrase=True)
        assert isinstance(text.format, PositionArray)
    else:
        text = TEXT(analyzer=word_analyzer(), stored=False, phrase=True)
    return Schema(key=ID(stored=True, unique=True), text=text)


@pytest.fixture(params=["array", "whoosh"])
def view(request, tmp_path):
    """An index of ``DOCS`` in two segments, one document deleted afterwards."""
    ix = whoosh_index.create_in(str(tmp_path), _schema(request.param))
    names = list(DOCS)
    for part in (names[:3], [*names[3:], "gone"]):
        with ix.writer() as writer:
            for name in part:
                writer.add_document(key=name, text=DOCS.get(name, "alpha beta gamma"))
    with ix.writer() as writer:
        writer.delete_by_term("key", "gone")
    searcher = ix.searcher()
    yield IndexView(searcher)
    searcher.close()
    ix.close()


def _keys(view: IndexView, mask: np.ndarray) -> set[str]:
    stored = view.reader.stored_fields
    return {stored(int(d))["key"] for d in np.flatnonzero(mask & view.live)}


def _phrase(view: IndexView, *words: str):
    mask, scores = view.evaluate(wq.Phrase("text", list(words)))
    return _keys(view, mask), scores


def test_positions_span_segments_with_their_offsets(view):
    docs, positions = view.positions("text", "gamma")
    found = {}
    for doc, pos in zip(docs.tolist(), positions.tolist(), strict=True):
        found.setdefault(view.reader.stored_fields(doc)["key"], []).append(pos)
    assert found == {"twice": [2, 7], "apart": [4], "reversed": [0], "start": [1], "gone": [2]}


def test_a_phrase_needs_its_words_in_a_row_and_in_order(view):
    hits, _ = _phrase(view, "alpha", "beta", "gamma")
    assert hits == {"twice"}  # not "apart", not "reversed", not the deleted one


def test_a_phrase_at_the_start_of_the_text_is_found(view):
    hits, _ = _phrase(view, "beta", "gamma")
    assert hits == {"twice", "start"}


def test_a_repeated_word_phrase_counts_each_start(view):
    hits, _ = _phrase(view, "delta", "delta")
    assert hits == {"repeat"}
    terms = [wq.Term("text", "delta")] * 2
    docs, counts = view.phrase_counts(terms)
    assert [view.reader.stored_fields(int(d))["key"] for d in docs] == ["repeat"]
    assert counts.tolist() == [2]  # starts at 0 and at 1
    once, _ = _phrase(view, "delta", "delta", "delta")
    assert once == {"repeat"}
    assert _phrase(view, "delta", "delta", "delta", "delta")[0] == set()


def test_only_documents_with_the_words_in_a_row_score(view):
    _, scores = _phrase(view, "alpha", "beta")
    by_key = {view.reader.stored_fields(int(d))["key"]: float(scores[d]) for d in np.flatnonzero(scores)}
    # "twice" holds the phrase two times; "apart" has both words but never in a row
    assert set(by_key) == {"twice"}
    single, _ = _phrase(view, "beta", "gamma")
    assert single == {"twice", "start"}


def test_a_sequence_step_may_be_any_of_several_words(view):
    step = wq.Or([wq.Term("text", "alpha"), wq.Term("text", "delta")])
    mask, _ = view.evaluate(wq.Sequence([step, wq.Term("text", "beta")]))
    assert _keys(view, mask) == {"twice"}
    mask, _ = view.evaluate(wq.Sequence([wq.Term("text", "delta"), step]))
    assert _keys(view, mask) == {"repeat"}


def test_a_word_missing_from_the_index_matches_nothing(view):
    assert _phrase(view, "alpha", "omega")[0] == set()
    assert view.positions("text", "omega")[0].size == 0
