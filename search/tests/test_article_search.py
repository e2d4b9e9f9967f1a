"""``article_search`` end to end: the index queue, the engine, rows, highlights, stories.

What any engine must match and rank is in ``engine_contract``; this is what the selector
adds on top, on the configured engine with a real index in the test temp dir.
"""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest
from django.db.models import Count
from haystack import connections
from whoosh import index as whoosh_index
from whoosh import query as wq

from articles.models import Article, Author, PolicyDocument, PolicyMention, Source, Story
from articles.tests.factories import article_make
from search.engines.whoosh import searcher as searcher_module
from search.engines.whoosh.backend import ChineseWhooshSearchBackend
from search.selectors import QuerySyntaxError, SearchParams, article_search
from search.tests.engine_contract.corpus import CORPUS_ROWS
from zhtext.models import DictionaryTerm

D = datetime.date


def _ids(**kwargs) -> list[int]:
    return [h.id for h in article_search(params=SearchParams(page_size=100, **kwargs)).results]


@pytest.fixture
def index_clear(db):
    backend = connections["default"].get_backend()
    backend.clear()
    yield backend
    backend.clear()


@pytest.fixture
def corpus(index_clear, django_capture_on_commit_callbacks) -> dict[str, Article]:
    with django_capture_on_commit_callbacks(execute=True):
        made = {key: article_make(**kw) for key, kw in CORPUS_ROWS.items()}
    return made


def test_facet_counts_equal_database_counts(corpus):
    page = article_search(params=SearchParams(sources=("安全客",)))
    published = Article.objects.filter(status=Article.Status.PUBLISHED)
    # Own facet ignores its own selection (multi-select), so it counts every source.
    db_sources = dict(published.values_list("source__name").annotate(n=Count("id")))
    assert {f.value: f.count for f in page.facets["source"]} == db_sources
    assert [f.value for f in page.facets["source"] if f.selected] == ["安全客"]
    in_source = published.filter(source__name="安全客")
    db_authors = dict(
        Author.objects.filter(articles__in=in_source).values_list("name").annotate(n=Count("articles"))
    )
    assert {f.value: f.count for f in page.facets["author"]} == db_authors
    db_years = {}
    for a in in_source:
        db_years[str(a.published_on.year)] = db_years.get(str(a.published_on.year), 0) + 1
    assert {f.value: f.count for f in page.facets["year"]} == db_years
    assert page.count == in_source.count()
    assert {f.value for f in page.facets["month"]} == {"2024-04", "2024-09", "2024-07"}


def test_an_empty_query_lists_everything_newest_first_with_facets(corpus):
    page = article_search(params=SearchParams())
    assert page.count == Article.objects.filter(status=Article.Status.PUBLISHED).count()
    assert page.results[0].id == corpus["pipl"].id
    assert set(page.facets) == {"source", "author", "tag", "policy", "issuer", "doctype", "year", "month"}


def test_a_page_past_the_end_is_empty_and_says_which_page_it_is(corpus):
    page = article_search(params=SearchParams(page=99, page_size=5))
    assert (page.page, page.num_pages) == (99, 3)
    assert page.results == []
    last = article_search(params=SearchParams(page=3, page_size=5))
    assert len(last.results) == 2


def test_hits_are_highlighted_and_escaped(corpus, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = article_make(title="<b>零信任</b>架构指南", body="零信任架构要求持续验证。" * 3)
    hit = article_search(params=SearchParams(q="零信任")).results[0]
    assert hit.id == a.id
    assert hit.title_html == "&lt;b&gt;<mark>零信任</mark>&lt;/b&gt;架构指南"
    assert "<mark>零信任</mark>架构要求" in hit.snippet_html
    assert "<mark>" not in hit.snippet and "零信任" in hit.snippet


def test_hidden_articles_vanish(corpus, django_capture_on_commit_callbacks):
    assert _ids(q="藏匿试验词") == []
    article = corpus["ransom"]
    assert article.id in _ids(q="勒索软件")
    with django_capture_on_commit_callbacks(execute=True):
        article.status = Article.Status.HIDDEN
        article.save()
    assert article.id not in _ids(q="勒索软件")


def test_deletion_removes_the_hit(corpus, django_capture_on_commit_callbacks):
    article = corpus["mind"]
    with django_capture_on_commit_callbacks(execute=True):
        article.delete()
    assert _ids(q="心理健康") == []


def test_a_dictionary_change_takes_effect_after_reindex(corpus, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = article_make(title="云帆示范项目启动", body="云帆示范项目由多家单位共同承担。")
    searcher = connections["default"].get_backend().searcher_get()
    assert searcher.search(wq.Term("text", "云帆示范项目")).scored_length() == 0
    with django_capture_on_commit_callbacks(execute=True):
        DictionaryTerm.objects.create(word="云帆示范项目")
    searcher = connections["default"].get_backend().searcher_get()
    assert [h["django_id"] for h in searcher.search(wq.Term("text", "云帆示范项目"))] == [str(a.id)]
    assert _ids(q="云帆示范项目")[0] == a.id


def test_a_source_rename_is_not_needed_for_m2m_changes(corpus, django_capture_on_commit_callbacks):
    article = corpus["tax"]
    with django_capture_on_commit_callbacks(execute=True):
        article.authors.add(Author.objects.create(name="钱多多"))
    assert _ids(authors=("钱多多",)) == [article.id]
    assert Source.objects.filter(name="中国政府网").exists()


@pytest.mark.parametrize(
    "q", ['"数据出境', "(数据 安全", "数据)", "OR 数据", "数据 OR", "-数据", "！！", "()"]
)
def test_a_malformed_query_raises_a_helpful_error(corpus, q):
    with pytest.raises(QuerySyntaxError) as err:
        article_search(params=SearchParams(q=q))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(err.value))


def test_words_typed_without_a_space_match_anywhere_in_the_article(
    corpus, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        apart = article_make(
            title="北欧能源企业遭入侵",
            body="调查人员认为，这次入侵来自俄罗斯。多名黑客在论坛上炫耀战果。",
        )
        together = article_make(title="俄罗斯黑客组织再次活跃", body="俄罗斯黑客近期频繁出手。")
        article_make(title="黑客大赛落幕", body="本届黑客大赛吸引了众多高校队伍。")
    found = _ids(q="俄罗斯黑客")
    assert set(found) == {apart.id, together.id}
    assert found[0] == together.id  # the words in a row rank first
    assert _ids(q='"俄罗斯黑客"') == [together.id]  # quotes still mean adjacent


def test_a_taiwan_phrase_finds_the_mainland_word(corpus):
    assert corpus["ransom"].id in _ids(q="勒索軟體")
    assert _ids(q="勒索軟體")[0] == corpus["ransom"].id


def test_traditional_text_is_indexed_with_mainland_wording(corpus, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = article_make(title="記憶體漏洞警訊", body="研究人員發現記憶體管理程式存在缺陷。")
    assert _ids(q="内存") == [a.id]
    hit = article_search(params=SearchParams(q="内存")).results[0]
    assert "<mark>記憶體</mark>" in hit.title_html


def test_the_added_synonym_groups_work_both_ways(corpus, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        chrome = article_make(title="Google Chrome 修复高危缺陷", body="Chrome 浏览器发布更新。")
        android = article_make(title="安卓系统月度补丁", body="本月补丁覆盖多个组件。")
        poc = article_make(title="研究人员公开PoC代码", body="PoC 演示了攻击过程。")
    assert chrome.id in _ids(q="谷歌浏览器")
    assert android.id in _ids(q="Android")
    assert poc.id in _ids(q="概念验证")
    assert corpus["ransom"].id in _ids(q="ransomware")


def test_a_synonym_ranks_below_the_word_typed(corpus, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        english = article_make(title="Ransomware roundup", body="ransomware " * 30)
    found = _ids(q="勒索软件")
    assert english.id in found
    assert found.index(corpus["ransom"].id) < found.index(english.id)


def _mention(article: Article, name: str) -> None:
    doc, _ = PolicyDocument.objects.get_or_create(name=name, defaults={"kind": PolicyDocument.Kind.TITLE})
    PolicyMention.objects.create(article=article, document=doc)


def test_the_policy_facet_counts_and_filters_mentioned_documents(corpus, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _mention(corpus["pipl"], "个人信息保护法")
        _mention(corpus["export"], "个人信息保护法")
        _mention(corpus["export"], "数据出境安全评估办法")
        _mention(corpus["cii"], "关键信息基础设施安全保护条例")
    page = article_search(params=SearchParams())
    counts = {f.value: f.count for f in page.facets["policy"]}
    assert counts == {"个人信息保护法": 2, "数据出境安全评估办法": 1, "关键信息基础设施安全保护条例": 1}
    assert set(_ids(policies=("个人信息保护法",))) == {corpus["pipl"].id, corpus["export"].id}
    # OR within the facet, AND with the other facets
    both = _ids(policies=("个人信息保护法", "关键信息基础设施安全保护条例"))
    assert set(both) == {corpus["pipl"].id, corpus["export"].id, corpus["cii"].id}
    assert _ids(policies=("个人信息保护法",), months=("2024-05",)) == [corpus["export"].id]
    selected = article_search(params=SearchParams(policies=("数据出境安全评估办法",)))
    assert [(f.value, f.selected) for f in selected.facets["policy"] if f.selected] == [
        ("数据出境安全评估办法", True)
    ]
    assert selected.count == 1


def test_renaming_a_policy_document_updates_the_facet(corpus, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _mention(corpus["pipl"], "个保法")
    with django_capture_on_commit_callbacks(execute=True):
        doc = PolicyDocument.objects.get(name="个保法")
        doc.name = "个人信息保护法"
        doc.save()
    assert _ids(policies=("个人信息保护法",)) == [corpus["pipl"].id]
    assert _ids(policies=("个保法",)) == []


def test_reposts_collapse_to_one_hit_per_story(corpus, django_capture_on_commit_callbacks):
    body = "多家单位联合发布量子通信安全白皮书，提出分阶段推进抗量子密码迁移。"
    with django_capture_on_commit_callbacks(execute=True):
        first = article_make(
            title="量子通信安全白皮书发布", body=body, source="甲号", published=D(2024, 6, 1)
        )
        second = article_make(
            title="量子通信安全白皮书发布", body=body, source="乙号", published=D(2024, 6, 2)
        )
        third = article_make(
            title="转载：量子通信安全白皮书发布", body=body, source="丙号", published=D(2024, 6, 3)
        )
        alone = article_make(title="量子通信试点启动", body="量子通信试点项目在三地启动。", source="甲号")
    with django_capture_on_commit_callbacks(execute=True):
        story = Story.objects.create()
        Article.objects.filter(id__in=[first.id, second.id, third.id]).update(story=story)
        from search.signals import article_ids_enqueue

        article_ids_enqueue(ids=[first.id, second.id, third.id])
    page = article_search(params=SearchParams(q="量子通信"))
    ids = [h.id for h in page.results]
    assert page.count == 2  # stories, not articles
    assert alone.id in ids and len(ids) == 2
    hit = next(h for h in page.results if h.id != alone.id)
    assert hit.story_id == story.id and hit.story_size == 3
    assert {m.id for m in hit.story_others} == {first.id, second.id, third.id} - {hit.id}
    assert {m.source for m in hit.story_others} <= {"甲号", "乙号", "丙号"}
    newest = article_search(params=SearchParams(q="量子通信", sort="newest"))
    assert third.id in [h.id for h in newest.results]
    oldest = article_search(params=SearchParams(q="量子通信", sort="oldest"))
    assert first.id in [h.id for h in oldest.results]
    # facets count articles
    sources = {f.value: f.count for f in page.facets["source"]}
    assert sources == {"甲号": 2, "乙号": 1, "丙号": 1}
    # without collapsing every article is listed
    flat = article_search(params=SearchParams(q="量子通信", collapse=False))
    assert flat.count == 4
    solo = next(h for h in page.results if h.id == alone.id)
    assert solo.story_id is None and solo.story_size == 1 and solo.story_others == ()
    # A hidden member leaves the others' list (its status is checked after the query).
    hidden = next(m.id for m in hit.story_others)
    Article.objects.filter(id=hidden).update(status=Article.Status.HIDDEN)
    again = next(h for h in article_search(params=SearchParams(q="量子通信")).results if h.id == hit.id)
    assert hidden not in {m.id for m in again.story_others} and again.story_size == 2


def test_after_a_commit_the_searcher_keeps_the_readers_of_unchanged_segments(
    corpus, django_capture_on_commit_callbacks
):
    from whoosh.reading import SegmentReader

    backend = connections["default"].get_backend()

    def leaves() -> dict[str, SegmentReader]:
        reader = backend.searcher_get().reader()
        return {leaf.segment().segment_id(): leaf for leaf, _ in reader.leaf_readers()}

    assert corpus["ransom"].id in _ids(q="勒索软件")
    before = leaves()
    with django_capture_on_commit_callbacks(execute=True):
        added = article_make(title="勒索软件新变种出现", body="安全厂商发现勒索软件新变种。", source="安全客")
    after = leaves()
    # the segments already open are read through the same readers; only the new one is opened
    assert set(before) < set(after)
    assert all(after[segid] is leaf for segid, leaf in before.items())
    assert set(_ids(q="勒索软件")) == {corpus["ransom"].id, added.id}

    # a deletion in an old segment shows at once
    with django_capture_on_commit_callbacks(execute=True):
        corpus["ransom"].delete()
    assert _ids(q="勒索软件") == [added.id]

    # a merge replaces every segment; the replaced readers are closed one renewal later
    replaced = leaves()
    backend.index.optimize()
    merged = leaves()
    assert not set(merged) & set(after)
    assert _ids(q="勒索软件") == [added.id]
    with django_capture_on_commit_callbacks(execute=True):
        article_make(title="数据安全月度观察", body="本月数据安全事件回顾。")
    leaves()
    assert all(leaf.is_closed for leaf in replaced.values())
    assert _ids(q="勒索软件") == [added.id]


def test_a_segment_merged_away_while_the_searcher_renews_is_read_from_the_newer_generation(
    corpus, django_capture_on_commit_callbacks, monkeypatch
):
    """The index worker merges in another process beside its commits: a merge may commit and
    remove a new segment's files between the renewal's reading of the TOC and its opening of
    that segment. The renewal reads the newer TOC and answers, as Whoosh's own reader does."""
    backend = connections["default"].get_backend()
    assert corpus["ransom"].id in _ids(q="勒索软件")  # (a searcher to renew)
    with django_capture_on_commit_callbacks(execute=True):
        added = article_make(title="勒索软件新变种出现", body="安全厂商发现勒索软件新变种。", source="安全客")
    toc_read = searcher_module.whoosh_index.TOC.read
    generations = []

    def read_then_merged_away(storage, indexname, gen=None, schema=None):
        toc = toc_read(storage, indexname, gen, schema=schema)
        generations.append(toc.generation)
        if len(generations) == 1:
            backend.index.optimize()  # (another process's merge: a new generation, these files gone)
        return toc

    monkeypatch.setattr(
        searcher_module, "whoosh_index", SimpleNamespace(TOC=SimpleNamespace(read=read_then_merged_away))
    )
    assert set(_ids(q="勒索软件")) == {corpus["ransom"].id, added.id}
    # the first generation read had lost a segment's files; the next one had the merged segment
    assert len(generations) == 2 and generations[1] > generations[0]
    assert len(list(backend.searcher_get().reader().leaf_readers())) == 1


def test_a_process_opening_the_index_while_a_commit_replaces_its_table_of_contents_reads_the_next(
    corpus, settings, monkeypatch
):
    """A process starting (a web process's warm-up, a worker) lists the newest table of
    contents; a commit elsewhere writes the next one and deletes that one before it is opened.
    The opening reads the listing again instead of failing the process's first query."""
    backend = connections["default"].get_backend()
    assert corpus["ransom"].id in _ids(q="勒索软件")
    latest = whoosh_index.TOC._latest_generation
    listed = []

    def listed_then_replaced(cls, storage, indexname):
        generation = latest(storage, indexname)
        listed.append(generation)
        if len(listed) == 1:
            backend.index.optimize()  # (another process's commit: the next generation, this one gone)
        return generation

    monkeypatch.setattr(whoosh_index.TOC, "_latest_generation", classmethod(listed_then_replaced))
    starting = ChineseWhooshSearchBackend("default", **settings.HAYSTACK_CONNECTIONS["default"])
    starting.setup()
    monkeypatch.undo()

    assert listed[-1] > listed[0]  # the listing read again, after the commit
    assert starting.searcher_get().doc_count() == backend.searcher_get().doc_count() > 0
