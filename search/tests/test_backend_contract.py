"""What the search backend promises, checked on a real Whoosh index in the test temp dir."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Count
from haystack import connections
from whoosh import query as wq

from articles.models import Article, Author, PolicyDocument, PolicyMention, Source, Story
from articles.tests.factories import article_make
from search.selectors import QuerySyntaxError, SearchParams, article_search
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
    rows = {
        "miit": dict(
            title="工业和信息化部印发新型工业化推进方案",
            body="工业和信息化部近日印发方案，提出加快推进新型工业化，培育先进制造业集群。",
            source="工信微报",
            authors=("张晓",),
            tags=("产业",),
            published=D(2024, 3, 15),
        ),
        "export": dict(
            title="国家互联网信息办公室公布数据出境安全评估申报指南",
            body="申报数据出境安全评估的数据处理者，应当按照指南准备材料。数据出境活动须符合规定。",
            source="网信中国",
            authors=("李明", "王芳"),
            published=D(2024, 5, 10),
        ),
        "cve": dict(
            title="关于后门漏洞的处置建议",
            body="压缩工具中发现的 CVE-2024-3094 后门漏洞影响多个发行版，请尽快升级。",
            source="安全客",
            authors=("李明",),
            published=D(2024, 4, 1),
        ),
        "year": dict(
            title="2024年网络安全宣传周开幕",
            body="2024年网络安全宣传周在多地同步开幕，主题聚焦网络安全为人民。",
            source="安全客",
            published=D(2024, 9, 9),
        ),
        "5g": dict(
            title="5G基站建设加快推进",
            body="截至年底，全国5G基站总数持续增长，5G网络覆盖所有地级市。",
            source="工信微报",
            published=D(2023, 12, 20),
        ),
        "docnum": dict(
            title="国务院关于加快发展数字经济的通知",
            body="根据国发〔2024〕1号文件精神，各地要加快数字经济发展。",
            source="中国政府网",
            published=D(2024, 1, 5),
        ),
        "tax": dict(
            title="小微企业优惠政策解读",
            body="税务部门明确，小规模纳税人减按百分之一征收增值税。",
            source="中国政府网",
            published=D(2023, 8, 1),
        ),
        "mind": dict(
            title="青少年心理健康教育指导意见发布",
            body="学校应当重视学生心理健康，配齐专职教师。",
            source="教育发布",
            published=D(2023, 9, 9),
        ),
        "ransom": dict(
            title="勒索软件攻击持续增多",
            body="近期勒索软件攻击频发，多家制造企业生产中断。",
            source="安全客",
            authors=("赵强",),
            published=D(2024, 7, 7),
        ),
        "pipl": dict(
            title="个人信息保护法实施三周年回顾",
            body="个人信息保护法施行以来，执法检查持续开展。",
            source="网信中国",
            published=D(2024, 11, 1),
        ),
        "cii": dict(
            title="运营者安全保护义务解读",
            body="关键信息基础设施运营者应当履行安全保护义务，设置专门安全管理机构。",
            source="网信中国",
            published=D(2023, 10, 1),
        ),
        "mlps": dict(
            title="测评机构管理办法征求意见",
            body="网络安全等级保护测评机构应当依法开展测评工作。",
            source="公安网安",
            published=D(2022, 6, 1),
        ),
        "hidden": dict(
            title="已隐藏的稿件",
            body="这篇稿件包含一个独特的词：藏匿试验词。",
            source="测试来源",
            published=D(2024, 2, 2),
            status=Article.Status.HIDDEN,
        ),
    }
    with django_capture_on_commit_callbacks(execute=True):
        made = {key: article_make(**kw) for key, kw in rows.items()}
    return made


def test_a_chinese_word_finds_its_article_first(corpus):
    assert _ids(q="数据出境")[0] == corpus["export"].id


def test_a_quoted_phrase_matches_only_the_exact_words(corpus):
    assert _ids(q='"数据出境安全评估"') == [corpus["export"].id]
    assert _ids(q="“安全评估申报”") == [corpus["export"].id]
    assert _ids(q='"评估出境"') == []


def test_a_single_character_finds_articles(corpus):
    assert corpus["tax"].id in _ids(q="税")
    assert corpus["5g"].id in _ids(q="网")


def test_a_cve_id_is_one_token(corpus):
    assert _ids(q="CVE-2024-3094") == [corpus["cve"].id]
    assert {corpus["year"].id, corpus["docnum"].id} <= set(_ids(q="2024"))


def test_5g_is_one_token(corpus):
    assert _ids(q="5G")[0] == corpus["5g"].id
    assert corpus["5g"].id in _ids(q="5g")


def test_a_document_number_matches_in_any_bracket_form(corpus):
    for q in ("国发〔2024〕1号", "国发[2024]1号", "国发（2024）1号", "国发【2024】1号"):
        assert _ids(q=q) == [corpus["docnum"].id], q


def test_a_traditional_script_query_finds_simplified_text(corpus):
    assert _ids(q="個人信息保護法")[0] == corpus["pipl"].id


def test_a_full_width_query_is_normalised(corpus):
    assert _ids(q="ＣＶＥ－２０２４－３０９４") == [corpus["cve"].id]
    assert _ids(q="５Ｇ")[0] == corpus["5g"].id


def test_a_part_of_a_compound_finds_the_compound(corpus):
    assert corpus["mind"].id in _ids(q="心理")
    assert corpus["ransom"].id in _ids(q="勒索")


def test_synonyms_are_expanded_at_query_time(corpus):
    assert corpus["miit"].id in _ids(q="工信部")
    assert corpus["export"].id in _ids(q="网信办")
    assert corpus["cii"].id in _ids(q="关基")
    assert corpus["mlps"].id in _ids(q="等保")
    assert corpus["ransom"].id in _ids(q="勒索病毒")


def test_exclusion_and_or_work(corpus):
    found = _ids(q="安全 -勒索")
    assert corpus["ransom"].id not in found and corpus["cve"].id in found
    assert set(_ids(q="心理 OR 增值税")) == {corpus["mind"].id, corpus["tax"].id}
    assert set(_ids(q="(心理 OR 增值税) 学校")) == {corpus["mind"].id}


def test_source_author_and_date_filters_narrow_the_results(corpus):
    assert set(_ids(q="安全", sources=("安全客",))) == {
        corpus["cve"].id,
        corpus["year"].id,
        corpus["ransom"].id,
    }
    assert set(_ids(authors=("李明",))) == {corpus["export"].id, corpus["cve"].id}
    assert set(_ids(sources=("网信中国", "工信微报"))) == {
        corpus[k].id for k in ("export", "pipl", "cii", "miit", "5g")
    }
    assert set(_ids(date_from=D(2024, 7, 1), date_to=D(2024, 9, 9))) == {
        corpus["ransom"].id,
        corpus["year"].id,
    }
    assert set(_ids(years=(2022,))) == {corpus["mlps"].id}
    assert set(_ids(months=("2024-05",))) == {corpus["export"].id}


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


def test_sort_orders_follow_the_publication_date(corpus):
    newest = _ids(q="安全", sort="newest")
    oldest = _ids(q="安全", sort="oldest")
    dates = [Article.objects.get(pk=i).published_on for i in newest]
    assert dates == sorted(dates, reverse=True)
    assert oldest == list(reversed(newest))


def test_an_empty_query_lists_everything_newest_first_with_facets(corpus):
    page = article_search(params=SearchParams())
    assert page.count == Article.objects.filter(status=Article.Status.PUBLISHED).count()
    assert page.results[0].id == corpus["pipl"].id
    assert set(page.facets) == {"source", "author", "tag", "policy", "year", "month"}


def test_a_page_past_the_end_shows_the_last_page(corpus):
    page = article_search(params=SearchParams(page=99, page_size=5))
    assert page.page == page.num_pages == 3
    assert len(page.results) == 2


def test_hits_are_highlighted_and_escaped(corpus, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        a = article_make(title="<b>零信任</b>架构指南", body="零信任架构要求持续验证。" * 3)
    hit = article_search(params=SearchParams(q="零信任")).results[0]
    assert hit.id == a.id
    assert hit.title_html == "&lt;b&gt;<mark>零信任</mark>&lt;/b&gt;架构指南"
    assert "<mark>零信任</mark>架构要求" in hit.snippet_html
    assert "<mark>" not in hit.snippet and "零信任" in hit.snippet


def test_title_only_ignores_body_matches(corpus):
    assert _ids(q="升级") == [corpus["cve"].id]
    assert _ids(q="升级", title_only=True) == []
    assert _ids(q="后门", title_only=True) == [corpus["cve"].id]


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
