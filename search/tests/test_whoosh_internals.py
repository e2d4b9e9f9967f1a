"""The fast paths built on Whoosh's private internals are the ones actually taken."""

from __future__ import annotations

import pickle

import pytest

from articles.models import Article
from articles.tests.factories import article_make
from search.engines import engine_get
from search.engines.whoosh import _internals
from search.engines.whoosh.schema import WordField
from search.selectors import SearchParams, article_search

QUERIES = ["勒索软件", '"数据出境安全评估"', "税", "心理", "网络 -培训", "数据安全 OR 网络安全", ""]


@pytest.fixture
def indexed(db, django_capture_on_commit_callbacks):
    engine = engine_get()
    engine.clear()
    with django_capture_on_commit_callbacks(execute=False):
        rows = [
            article_make(title="勒索软件攻击持续增多", body="近期勒索软件攻击频发，网络安全培训需求上升。"),
            article_make(title="数据出境安全评估申报指南", body="数据处理者应当申报数据出境安全评估。"),
            article_make(title="增值税优惠政策解读", body="小规模纳税人减按百分之一征收增值税。"),
            article_make(title="青少年心理健康教育", body="学校应当重视学生心理健康与数据安全教育。"),
        ]
    engine.documents_apply(objects=list(Article.objects.filter(pk__in=[a.pk for a in rows])), remove_ids=())
    yield engine
    engine.clear()


def _search_all() -> list[int]:
    return [
        article_search(params=SearchParams(q=q, authors=("无此人",) if not q else ())).count for q in QUERIES
    ]


def test_searches_read_whole_posting_blocks(indexed):
    before = _internals.fallbacks.value
    counts = _search_all()
    assert counts[0] == 1 and counts[1] == 1
    assert _internals.fallbacks.value == before, "a posting list was read document by document"


def test_the_fallback_is_counted_when_the_block_path_is_unavailable(indexed, monkeypatch):
    expected = _search_all()
    # a Whoosh whose matchers lack the block readers: forget what was read, read again
    monkeypatch.setattr(_internals, "_has_blocks", lambda matcher: False)
    monkeypatch.setattr(_internals, "posting_arrays", lambda leaf: None)  # (segments written by Whoosh)
    indexed.backend.searcher_close()
    before = _internals.fallbacks.value
    assert _search_all() == expected  # same answers, only slower
    assert _internals.fallbacks.value > before


def test_postings_come_from_the_posting_arrays_read_in_place(indexed, monkeypatch):
    expected = _search_all()
    indexed.backend.searcher_close()

    def no_blocks(*args):
        raise AssertionError("a term's postings were decoded from W3 blocks")

    monkeypatch.setattr(_internals, "block_postings_w3", no_blocks)
    monkeypatch.setattr(_internals, "block_positions_w3", no_blocks)  # (the phrase query's too)
    assert _search_all() == expected
    # the arrays are views of the mapped segment file, not copies in this process
    searcher = indexed.backend.index_view().searcher
    for leaf, _offset in searcher.reader().leaf_readers():
        arrays = _internals.posting_arrays(leaf)
        assert arrays is not None and arrays.ids.base is not None and not arrays.ids.flags.owndata
        assert isinstance(leaf._terms._postfile.file, _internals._ViewReader)


def test_an_index_whose_schema_names_the_old_class_paths_opens():
    import whoosh.index

    field = WordField(phrase=True)
    data = pickle.dumps(field, 2)
    assert b"search.engines.whoosh.schema\nWordField" in data
    old = data.replace(b"search.engines.whoosh.schema\nWordField", b"search.backends\nWordField")
    old = old.replace(b"search.engines.whoosh.schema\nPositionArray", b"search.backends\nPositionArray")
    loaded = whoosh.index.pickle.loads(old)
    assert type(loaded) is WordField and type(loaded.format) is type(field.format)
