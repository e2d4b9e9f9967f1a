"""A body is segmented once, at ingest: the index takes its stored terms while they are valid."""

from __future__ import annotations

import itertools

import pytest

from articles.models import Article
from articles.parsing import parse_article
from articles.services import article_upsert
from search import search_indexes
from search.engines import engine_get
from search.search_indexes import article_search_analysed
from search.selectors import SearchParams, article_search
from search.services import articles_index_sync
from zhtext.analysis import dictionary_refresh, terms_key, terms_unpack, text_terms
from zhtext.models import DictionaryTerm

FILE = """---
title: 分词一次测试：滇池算力走廊启用
url: https://example.org/terms-once/1
source: 分词测试来源
date: 2024-03-02
---
滇池算力走廊今日启用，首批接入的数据中心完成联调。

走廊覆盖多个园区，运营方表示将持续扩容。
"""


def _ingest(text: str = FILE) -> Article:
    article, outcome, _ = article_upsert(parsed=parse_article(data=text.encode("utf-8")))
    assert outcome == "created"
    return Article.objects.get(pk=article.pk)


@pytest.mark.django_db
def test_ingest_stores_the_bodys_terms_and_the_index_reads_them():
    dictionary_refresh(force=True)
    article = _ingest()
    assert terms_unpack(article.body_terms) == text_terms(article.body_text)
    assert article.body_terms_key == terms_key(article.body_text)
    analysed = article_search_analysed(article=article)
    assert analysed.text.startswith(article.title) and analysed.text.endswith(article.body_text)
    assert list(analysed.terms) == text_terms(analysed.text)


@pytest.mark.django_db
def test_stored_terms_are_what_gets_indexed_while_their_key_holds(django_capture_on_commit_callbacks):
    dictionary_refresh(force=True)
    engine = engine_get()
    engine.clear()
    try:
        with django_capture_on_commit_callbacks(execute=False):
            article = _ingest()
        # A marker only the stored terms hold: found only if the index took them.
        Article.objects.filter(pk=article.pk).update(body_terms=article.body_terms + " 存储标记词")
        engine.documents_apply(objects=[Article.objects.get(pk=article.pk)], remove_ids=())
        assert article_search(params=SearchParams(q="存储标记词")).count == 1
        # The body changed behind the stored terms' back: they are stale and not used.
        Article.objects.filter(pk=article.pk).update(body_text=article.body_text + "新增一句。")
        engine.documents_apply(objects=[Article.objects.get(pk=article.pk)], remove_ids=())
        assert article_search(params=SearchParams(q="存储标记词")).count == 0
        assert article_search(params=SearchParams(q="滇池")).count == 1
    finally:
        engine.clear()


@pytest.mark.django_db
def test_an_editors_new_word_makes_the_stored_terms_stale():
    dictionary_refresh(force=True)
    article = _ingest()
    assert "滇池算力走廊" not in terms_unpack(article.body_terms)
    DictionaryTerm.objects.create(word="滇池算力走廊")
    dictionary_refresh(check_now=True)
    try:
        assert article.body_terms_key != terms_key(article.body_text)
        assert "滇池算力走廊" in article_search_analysed(article=article).terms
    finally:
        DictionaryTerm.objects.filter(word="滇池算力走廊").delete()
        dictionary_refresh(check_now=True)


@pytest.mark.parametrize("which", ["corpus_dir", "policy_corpus_dir"])
def test_no_term_spans_a_line_break_on_the_real_files(which, request, db):
    """What lets the head's and the body's terms be computed apart and put end to end."""
    dictionary_refresh(force=True)
    texts = [p.read_text(encoding="utf-8") for p in sorted(request.getfixturevalue(which).glob("*.md"))]
    for head, body in itertools.pairwise(texts):
        head = head[:300]  # a title-and-summary-sized head
        assert text_terms(f"{head}\n{body}") == text_terms(head) + text_terms(body)


@pytest.mark.django_db
def test_ingest_in_a_process_that_never_loaded_the_dictionary_stores_terms_the_index_accepts(monkeypatch):
    from zhtext import analysis

    dictionary_refresh(force=True)
    monkeypatch.setattr(analysis, "_loaded_version", None)  # as in a fresh process
    article = _ingest()
    dictionary_refresh(check_now=True)  # what the indexer does before every batch
    assert article.body_terms_key == terms_key(article.body_text)


@pytest.mark.django_db
def test_terms_segmented_again_after_a_new_word_are_stored_for_the_next_reindex(monkeypatch):
    dictionary_refresh(force=True)
    article = _ingest()
    DictionaryTerm.objects.create(word="滇池算力走廊")
    dictionary_refresh(check_now=True)
    try:
        # The index worker's path: prepare the batch, write it, store what was segmented again.
        articles_index_sync(ids=[article.pk])
        stored = Article.objects.get(pk=article.pk)
        assert stored.body_terms_key == terms_key(stored.body_text)
        assert "滇池算力走廊" in terms_unpack(stored.body_terms)
        assert stored.updated_at == article.updated_at  # not a change the index must hear of
        # The next re-index reads them: the body is not segmented again.
        calls = []
        monkeypatch.setattr(search_indexes, "text_terms", lambda text: calls.append(text) or text_terms(text))
        search_indexes.article_search_analysed(article=stored)
        assert stored.body_text not in calls
    finally:
        DictionaryTerm.objects.filter(word="滇池算力走廊").delete()
        dictionary_refresh(check_now=True)
        engine_get().clear()
