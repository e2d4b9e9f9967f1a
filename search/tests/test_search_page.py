"""The /search/ page against a real Whoosh index built from rows in the test database."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

import pytest
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from haystack import connections

from articles.models import Article
from articles.tests.factories import article_make
from search.templatetags.search_tags import querystring_replace, querystring_toggle

SEARCH_URL = "/search/"


def index_clear() -> None:
    connections["default"].get_backend().clear()


def corpus_create() -> dict[str, Article]:
    """Four published articles and one hidden one, written for these tests.

    Created in one transaction: on commit the signal processor indexes them all in one
    task (inline in tests), exactly as an ingest run does.
    """
    with transaction.atomic():
        articles = corpus_articles_make()
    return articles


def corpus_articles_make() -> dict[str, Article]:
    return {
        "digital": article_make(
            title="关于加快发展数字经济的若干意见",
            source="新华视点",
            published=datetime.date(2024, 5, 10),
            authors=("王明",),
            tags=("数字经济",),
            body="意见提出，要推动数字经济和实体经济深度融合，培育一批具有竞争力的数字产业集群。",
        ),
        "vehicles": article_make(
            title="新能源汽车产业发展规划解读",
            source="经济日报",
            published=datetime.date(2024, 3, 2),
            authors=("李华", "王明"),
            tags=("产业政策",),
            body="规划明确了新能源汽车充电设施的建设目标，并提出持续优化营商环境，支持企业扩大投资。",
        ),
        "business": article_make(
            title="优化营商环境条例实施一周年回顾",
            source="新华视点",
            published=datetime.date(2023, 11, 20),
            authors=("赵强",),
            tags=("营商环境",),
            body="条例实施以来，各地简化审批流程，企业开办时间大幅缩短，市场主体活力持续增强。",
        ),
        "government": article_make(
            title="数字政府建设工作要点发布",
            source="人民网",
            published=datetime.date(2023, 5, 8),
            body="要点要求加快政务服务一网通办，提升基层治理效能，推进公共数据有序开放。",
        ),
        "hidden": article_make(
            title="新能源汽车内部讨论稿",
            source="经济日报",
            published=datetime.date(2024, 4, 1),
            body="这是一篇不应公开的新能源汽车讨论稿。",
            status=Article.Status.HIDDEN,
        ),
    }


@pytest.fixture
def corpus(transactional_db: None) -> Iterator[dict[str, Article]]:
    index_clear()
    yield corpus_create()
    index_clear()


def page_get(client: Client, query: str = "") -> tuple[int, str]:
    response = client.get(f"{SEARCH_URL}?{query}" if query else SEARCH_URL)
    return response.status_code, response.content.decode()


def result_titles(html: str) -> list[str]:
    """Titles of the result list in page order, with the <mark> highlighting removed."""
    titles = re.findall(r'<h3 class="result__title"><a href="/articles/\d+/">(.*?)</a></h3>', html, re.S)
    return [re.sub(r"</?mark>", "", title) for title in titles]


def result_count(html: str) -> int:
    match = re.search(r"共 (\d+) 条结果", html)
    assert match, "the page must say how many results there are"
    return int(match.group(1))


T = {
    "digital": "关于加快发展数字经济的若干意见",
    "vehicles": "新能源汽车产业发展规划解读",
    "business": "优化营商环境条例实施一周年回顾",
    "government": "数字政府建设工作要点发布",
}


def test_an_empty_query_lists_every_published_article_with_facets(client: Client, corpus) -> None:
    status, html = page_get(client)
    assert status == 200
    assert result_count(html) == 4
    assert sorted(result_titles(html)) == sorted(T.values())
    assert "内部讨论稿" not in html
    for label in ("来源", "作者", "标签", "年份", "月份"):
        assert f'class="facet__title">{label}</h2>' in html
    assert re.search(r'facet__value">新华视点</span><span class="facet__count">2</span>', html)
    assert re.search(r'facet__value">2023年</span><span class="facet__count">2</span>', html)
    assert re.search(r'facet__value">2024年5月</span><span class="facet__count">1</span>', html)


def test_the_page_is_in_simplified_chinese_and_links_its_css_and_js(client: Client, corpus) -> None:
    _, html = page_get(client)
    assert '<html lang="zh-CN">' in html
    assert "政策新闻检索门户" in html
    assert "/static/css/base.css" in html
    assert "/static/css/search.css" in html
    assert "/static/js/search.js" in html
    # A strict CSP must be possible: no inline handlers or style attributes.
    assert not re.search(r"\son[a-z]+=", html)
    assert " style=" not in html


def test_a_keyword_finds_the_matching_article_highlights_it_and_stays_in_the_box(
    client: Client, corpus
) -> None:
    status, html = page_get(client, "q=新能源汽车")
    assert status == 200
    assert result_titles(html) == [T["vehicles"]]
    assert "<mark>" in html
    assert 'name="q" maxlength="200" value="新能源汽车"' in html


def test_the_query_is_escaped_in_the_page(client: Client, corpus) -> None:
    _, html = page_get(client, "q=<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_a_source_filter_keeps_only_that_source(client: Client, corpus) -> None:
    _, html = page_get(client, "source=新华视点")
    assert sorted(result_titles(html)) == sorted([T["digital"], T["business"]])


def test_two_values_of_one_facet_are_combined_with_or(client: Client, corpus) -> None:
    _, html = page_get(client, "source=新华视点&source=人民网")
    assert sorted(result_titles(html)) == sorted([T["digital"], T["business"], T["government"]])


def test_filters_of_different_facets_are_combined_with_and(client: Client, corpus) -> None:
    _, html = page_get(client, "source=新华视点&year=2024")
    assert result_titles(html) == [T["digital"]]


def test_an_author_filter_finds_every_article_of_that_author(client: Client, corpus) -> None:
    _, html = page_get(client, "author=王明")
    assert sorted(result_titles(html)) == sorted([T["digital"], T["vehicles"]])


def test_a_tag_filter_keeps_only_tagged_articles(client: Client, corpus) -> None:
    _, html = page_get(client, "tag=营商环境")
    assert result_titles(html) == [T["business"]]


def test_a_year_filter_keeps_only_that_year(client: Client, corpus) -> None:
    _, html = page_get(client, "year=2023")
    assert sorted(result_titles(html)) == sorted([T["business"], T["government"]])


def test_a_month_filter_keeps_only_that_month(client: Client, corpus) -> None:
    _, html = page_get(client, "month=2024-05")
    assert result_titles(html) == [T["digital"]]


def test_a_date_range_keeps_articles_published_inside_it(client: Client, corpus) -> None:
    _, html = page_get(client, "date_from=2024-01-01&date_to=2024-04-30")
    assert result_titles(html) == [T["vehicles"]]
    assert 'name="date_from" value="2024-01-01"' in html


def test_the_newest_and_oldest_sorts_order_by_date(client: Client, corpus) -> None:
    _, newest = page_get(client, "sort=newest")
    _, oldest = page_get(client, "sort=oldest")
    by_date = [T["digital"], T["vehicles"], T["business"], T["government"]]
    assert result_titles(newest) == by_date
    assert result_titles(oldest) == list(reversed(by_date))
    assert '<option value="newest" selected>' in newest


def test_page_size_and_page_split_the_results(client: Client, corpus) -> None:
    _, first = page_get(client, "sort=newest&page_size=3")
    _, second = page_get(client, "sort=newest&page_size=3&page=2")
    assert result_titles(first) == [T["digital"], T["vehicles"], T["business"]]
    assert result_titles(second) == [T["government"]]
    assert result_count(second) == 4
    # The link to the next page keeps every other parameter.
    assert 'href="/search/?sort=newest&amp;page_size=3&amp;page=2"' in first


def test_title_only_ignores_words_found_only_in_the_body(client: Client, corpus) -> None:
    _, everywhere = page_get(client, "q=营商环境")
    _, title_only = page_get(client, "q=营商环境&in=title")
    assert sorted(result_titles(everywhere)) == sorted([T["business"], T["vehicles"]])
    assert result_titles(title_only) == [T["business"]]
    assert 'name="in" value="title" checked' in title_only


def test_facet_links_toggle_one_value_and_keep_the_rest(client: Client, corpus) -> None:
    _, html = page_get(client, "q=经济&source=新华视点&page=1")
    # The selected source links to the same search without it; page is dropped.
    assert 'href="/search/?q=%E7%BB%8F%E6%B5%8E" aria-current="true"' in html
    assert "is-selected" in html


def test_active_filters_are_shown_as_removable_chips(client: Client, corpus) -> None:
    _, html = page_get(client, "source=新华视点&date_from=2023-01-01")
    assert "来源：新华视点" in html
    assert "起始日期：2023年1月1日" in html
    assert 'href="/search/?date_from=2023-01-01" title="移除该条件">来源：新华视点' in html
    assert "清除全部筛选" in html


def test_a_search_without_results_says_so_and_suggests_what_to_change(client: Client, corpus) -> None:
    status, html = page_get(client, "q=量子通信卫星&source=人民网")
    assert status == 200
    assert result_count(html) == 0
    assert "没有找到与“量子通信卫星”相关的文章" in html
    assert "错别字" in html
    assert "来源：人民网" in html
    assert "去掉部分筛选条件" in html


@pytest.mark.parametrize("page", [3, 9, 99999])
def test_a_page_past_the_end_is_empty_and_says_so_with_a_way_back(client: Client, corpus, page: int) -> None:
    status, html = page_get(client, f"sort=newest&page_size=3&page={page}")
    assert status == 200
    assert result_titles(html) == []
    assert f"第 {page} 页没有结果：结果一共只有 2 页" in html
    assert 'href="/search/?sort=newest&amp;page_size=3&amp;page=2">回到最后一页</a>' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("date_from=2024-02-30", "起始日期格式不对"),
        ("date_to=2024/05/01", "截止日期格式不对"),
        ("date_from=2024-05-01&date_to=2024-01-01", "截止日期不能早于起始日期"),
        ("page=0", "页码必须从 1 开始"),
        ("page=abc", "页码必须是正整数"),
        ("page_size=1000", "每页最多显示 100 条"),
        ("page_size=0", "每页至少显示 1 条"),
        ("sort=bogus", "排序方式“bogus”无效"),
        ("year=24", "年份“24”无效"),
        ("month=2024-13", "月份“2024-13”无效"),
        ("in=body", "检索范围“body”无效"),
        ("q=" + "政" * 201, "关键词太长了"),
        ("q=-", "没有可以检索的文字"),
    ],
)
def test_invalid_parameters_get_a_400_with_a_chinese_message(
    client: Client, corpus, query: str, message: str
) -> None:
    status, html = page_get(client, query)
    assert status == 400
    assert message in html
    assert 'role="alert"' in html


@pytest.mark.parametrize("query", ['"unclosed', "-", "OR OR"])
def test_a_malformed_query_gets_a_400_with_an_explanation(client: Client, corpus, query: str) -> None:
    response = client.get(SEARCH_URL, {"q": query})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in html
    assert re.search(
        r'<div class="alert" role="alert">\s*<h2>检索条件有误</h2>\s*<p>[^<]*[\u4e00-\u9fff]', html
    )


def test_the_home_page_links_to_the_latest_articles_and_the_search(client: Client, corpus) -> None:
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert T["digital"] in html
    assert "内部讨论稿" not in html
    assert 'action="/search/"' in html
    assert "/static/css/home.css" in html


def test_the_article_page_shows_a_published_article_and_hides_a_hidden_one(client: Client, corpus) -> None:
    shown = client.get(f"/articles/{corpus['vehicles'].pk}/")
    hidden = client.get(f"/articles/{corpus['hidden'].pk}/")
    assert shown.status_code == 200
    assert "充电设施" in shown.content.decode()
    assert hidden.status_code == 404


def test_the_admin_link_is_shown_to_staff_only(client: Client, corpus, django_user_model) -> None:
    _, anonymous = page_get(client)
    staff = django_user_model.objects.create_user(username="editor", password="x", is_staff=True)
    client.force_login(staff)
    _, as_staff = page_get(client)
    assert ">管理</a>" not in anonymous
    assert ">管理</a>" in as_staff


def test_toggling_a_facet_value_adds_or_removes_only_that_value_and_resets_the_page() -> None:
    query = QueryDict("q=数据&source=甲&source=乙&page=3&date_to=")
    added = QueryDict(querystring_toggle(query=query, key="source", value="丙").lstrip("?"))
    removed = QueryDict(querystring_toggle(query=query, key="source", value="甲").lstrip("?"))
    assert added.getlist("source") == ["甲", "乙", "丙"]
    assert removed.getlist("source") == ["乙"]
    for result in (added, removed):
        assert result["q"] == "数据"
        assert "page" not in result
        assert "date_to" not in result


def test_replacing_the_page_keeps_every_filter() -> None:
    query = QueryDict("q=数据&tag=甲&tag=乙&in=title")
    result = QueryDict(querystring_replace(query=query, changes={"page": 2}).lstrip("?"))
    assert result.getlist("tag") == ["甲", "乙"]
    assert (result["q"], result["in"], result["page"]) == ("数据", "title", "2")


def test_a_lower_case_or_between_words_works_like_or_and_the_page_says_so(client: Client, corpus) -> None:
    _, upper = page_get(client, "q=营商环境 OR 数字政府")
    status, lower = page_get(client, "q=营商环境 or 数字政府")
    assert status == 200
    assert sorted(result_titles(lower)) == sorted(result_titles(upper))
    assert sorted(result_titles(lower)) == sorted([T["business"], T["vehicles"], T["government"]])
    assert "已把小写的 or 当作“或”" in lower
    assert "已把小写的 or 当作“或”" not in upper
    # quoted, it is the word
    _, quoted = page_get(client, 'q=营商环境 "or"')
    assert "已把小写的 or 当作“或”" not in quoted


def test_reposts_fold_into_one_result_and_the_page_and_api_say_how_many_articles_that_is(
    client: Client, transactional_db
) -> None:
    from articles.models import Story

    index_clear()
    with transaction.atomic():
        original = article_make(title="计数测试：税收优惠新规", source="甲报", body="税收优惠新规出台。")
        repost = article_make(title="计数测试：税收优惠新规转载", source="乙报", body="税收优惠新规出台。")
        article_make(title="计数测试：另一篇税收报道", source="乙报", body="税收征管数字化。")
        story = Story.objects.create()
        Article.objects.filter(pk__in=[original.pk, repost.pk]).update(story=story)
        # (a queryset update sends no signal: tell the index)
        from articles.signals import articles_changed_send

        articles_changed_send(ids=[original.pk, repost.pk])
    try:
        status, html = page_get(client, "q=税收")
        assert status == 200
        assert result_count(html) == 2
        assert "（3 篇文章，同一报道的转载合为一条；筛选和图表按篇计）" in html
        body = client.get("/api/search", {"q": "税收"}).json()
        assert (body["count"], body["documents"]) == (2, 3)
        # the facets count the same unit the page says they do
        assert sum(item["count"] for item in body["facets"]["source"]) == body["documents"]
        assert sum(item["count"] for item in body["facets"]["month"]) == body["documents"]
        _, single = page_get(client, "q=征管")
        assert "篇文章，同一报道" not in single  # nothing folded: one number
    finally:
        index_clear()
