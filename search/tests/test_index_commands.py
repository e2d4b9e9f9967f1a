"""The operator commands that rebuild and repair the index."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils import timezone
from haystack import connections

from articles.models import Article
from articles.tests.factories import article_make
from search.engines.whoosh.backend import ChineseWhooshSearchBackend
from search.selectors import SearchParams, article_search

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def backend():
    backend = connections["default"].get_backend()
    backend.clear()
    yield backend
    backend.clear()


@pytest.fixture(params=["whoosh", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def any_backend(request, settings):
    """The default connection on each engine: haystack's commands and search_check work on both."""
    if request.param == "whoosh":
        yield request.getfixturevalue("backend")
        return
    from search.tests.engine_contract.test_elasticsearch import default_on_elasticsearch

    with default_on_elasticsearch(settings=settings):
        yield connections["default"].get_backend()


def _found(q: str) -> list[int]:
    return [h.id for h in article_search(params=SearchParams(q=q)).results]


def test_rebuild_index_indexes_every_published_article_with_a_progress_bar(any_backend):
    backend = any_backend
    shown = [
        article_make(title=f"索引重建测试第{i}篇：数据资产入表", body="数据资产入表的会计处理。")
        for i in range(3)
    ]
    article_make(title="隐藏的数据资产入表文章", body="不应出现在索引里。", status=Article.Status.HIDDEN)
    backend.clear()
    assert _found("数据资产入表") == []

    err = io.StringIO()
    call_command("rebuild_index", "--noinput", stdout=io.StringIO(), stderr=err)

    assert sorted(_found("数据资产入表")) == sorted(a.id for a in shown)
    assert "3/3" in err.getvalue()


def test_search_check_reports_missing_and_stale_articles_and_fix_repairs_them(any_backend):
    backend = any_backend
    kept = article_make(title="巡检测试：算力网络建设", body="算力网络建设稳步推进。")
    lost = article_make(title="巡检测试：数据跨境流动", body="数据跨境流动试点。")
    backend.remove(f"articles.article.{lost.pk}")
    # A row changed behind the index's back (a bulk update sends no signals).
    Article.objects.filter(pk=kept.pk).update(title="巡检测试：算力网络建设提速", updated_at=timezone.now())

    out = io.StringIO()
    call_command("search_check", stdout=out, stderr=io.StringIO())
    report = out.getvalue()
    assert "缺失 1" in report and "过期 1" in report
    assert _found("数据跨境流动") == []

    out = io.StringIO()
    call_command("search_check", "--fix", stdout=out, stderr=io.StringIO())
    assert _found("数据跨境流动") == [lost.id]
    assert _found("提速") == [kept.id]

    out = io.StringIO()
    call_command("search_check", stdout=out, stderr=io.StringIO())
    assert "缺失 0" in out.getvalue() and "过期 0" in out.getvalue()
    if isinstance(backend, ChineseWhooshSearchBackend):
        # the operator sees how the index is stored: removal and two commits made segments
        segments = len(backend.searcher_get().reader().leaf_readers())
        assert f"索引段 {segments} 个" in out.getvalue()


def test_an_index_in_the_old_position_format_still_answers_phrases_until_rebuilt(backend):
    from whoosh import formats
    from whoosh import index as whoosh_index

    from search.engines.whoosh.schema import WordField

    # An index as written before positions were stored as arrays: same fields, Whoosh's format.
    backend.delete_index()
    old_schema = backend.schema.copy()
    for name in old_schema.names():
        field = old_schema[name]
        if isinstance(field, WordField):
            field.format = formats.Positions(field_boost=field.format.field_boost)
    backend.searcher_close()
    # written by the earlier code, which opened the index in that format
    backend.index = whoosh_index.create_in(backend.path, old_schema)
    exact = article_make(title="旧格式索引：远程代码执行漏洞通报", body="攻击者可远程代码执行。")
    apart = article_make(title="旧格式索引：代码审计", body="远程办公时执行代码审计。")

    # the upgraded code opens it: phrases must still match word for word
    backend.searcher_close()
    backend.setup_complete = False
    backend.setup()
    assert backend.positions_outdated
    assert _found('"远程代码执行"') == [exact.pk]
    assert apart.pk in _found("代码")

    out = io.StringIO()
    call_command("search_check", stdout=out, stderr=io.StringIO())
    assert "rebuild_index" in out.getvalue()

    call_command("rebuild_index", "--noinput", stdout=io.StringIO(), stderr=io.StringIO())
    assert not backend.positions_outdated
    assert _found('"远程代码执行"') == [exact.pk]
    out = io.StringIO()
    call_command("search_check", stdout=out, stderr=io.StringIO())
    assert "rebuild_index" not in out.getvalue()


def test_search_check_sees_a_renamed_tag_the_index_missed_and_fix_repairs_it(any_backend):
    from articles.models import Tag

    article = article_make(title="巡检测试：出境评估", body="数据出境评估申报。", tags=("数据出境",))
    # renamed behind the index's back (a queryset update sends no signal; the row of the
    # article itself does not change)
    Tag.objects.filter(name="数据出境").update(name="数据跨境流动")

    out = io.StringIO()
    call_command("search_check", stdout=out, stderr=io.StringIO())
    assert "过期 1" in out.getvalue() and str(article.pk) in out.getvalue()

    call_command("search_check", "--fix", stdout=io.StringIO(), stderr=io.StringIO())
    page = article_search(params=SearchParams(tags=("数据跨境流动",)))
    assert [h.id for h in page.results] == [article.pk]
    assert [fv.value for fv in page.facets["tag"]] == ["数据跨境流动"]
    out = io.StringIO()
    call_command("search_check", stdout=out, stderr=io.StringIO())
    assert "过期 0" in out.getvalue()
