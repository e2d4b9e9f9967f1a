"""The home page: latest and featured articles, busy sources, trending keywords, archive, topics."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from haystack import connections

from articles.models import Article, Source
from articles.tests.factories import article_make
from pages.models import TrendTopic
from search.engines.contract import EngineUnavailable

SVG = "{http://www.w3.org/2000/svg}"
# The newest article is from 2024, long before the day the tests run: "this week" ends on it.
NEWEST = datetime.date(2024, 6, 28)


def index_clear() -> None:
    connections["default"].get_backend().clear()


def keywords_set(article: Article, *pairs: tuple[str, float]) -> None:
    # update() skips the signal processor: keywords are not part of the index.
    Article.objects.filter(pk=article.pk).update(keywords=[list(p) for p in pairs])


def corpus_build() -> dict[str, Article]:
    made: dict[str, Article] = {}
    with transaction.atomic():
        # Older months: the everyday words.
        for month in (1, 2, 3, 4, 5):
            for n in range(2):
                made[f"old-{month}-{n}"] = article_make(
                    title=f"{month}月网络安全工作简报{n}",
                    body="网络安全工作简报。",
                    source="安全周刊",
                    published=datetime.date(2024, month, 10 + n),
                )
        # The last week: a ransomware wave reported by a busy source.
        for day in (24, 25, 26, 27, 28):
            made[f"new-{day}"] = article_make(
                title=f"勒索软件攻击医院系统事件通报{day}",
                body="勒索软件团伙攻击了多家医院的信息系统。",
                source="威胁情报站",
                authors=("赵强",),
                published=datetime.date(2024, 6, day),
            )
        made["week-other"] = article_make(
            title="数据要素市场建设动态",
            body="数据要素市场建设取得新的成果。",
            source="数据观察",
            published=datetime.date(2024, 6, 25),
        )
        made["hidden"] = article_make(
            title="不应出现的隐藏文章",
            body="勒索软件",
            source="隐藏来源",
            published=NEWEST,
            status=Article.Status.HIDDEN,
        )
    for key, article in made.items():
        if key.startswith("old"):
            keywords_set(article, ("网络安全", 0.6), ("简报", 0.3))
        elif key.startswith("new"):
            keywords_set(article, ("勒索软件", 0.7), ("网络安全", 0.6), ("医院", 0.3))
    keywords_set(made["week-other"], ("数据要素", 0.8))
    keywords_set(made["hidden"], ("隐藏词", 5.0))
    Article.objects.filter(pk=made["old-3-0"].pk).update(featured=True)
    Article.objects.filter(pk=made["hidden"].pk).update(featured=True)
    TrendTopic.objects.all().delete()
    TrendTopic.objects.create(name="勒索软件", query="勒索软件", position=1)
    TrendTopic.objects.create(name="数据要素", query="数据要素", position=2)
    TrendTopic.objects.create(name="停用的话题", query="简报", position=3, active=False)
    return made


@pytest.fixture
def corpus(transactional_db: None) -> Iterator[dict[str, Article]]:
    index_clear()
    cache.clear()
    yield corpus_build()
    index_clear()
    cache.clear()


def section(html: str, heading_id: str) -> str:
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, flags=re.S)
    assert match, f"no section {heading_id}"
    return match.group()


def link_texts(html: str, pattern: str) -> list[str]:
    return [unquote(m) for m in re.findall(pattern, html)]


def front_titles(html: str) -> tuple[str, list[str]]:
    front = section(html, "front-title")
    lead = re.search(r'class="lead__title"><a href="[^"]+">([^<]+)</a>', front).group(1)
    return lead, re.findall(r'class="secondary__title" href="[^"]+">([^<]+)</a>', front)


def test_the_latest_articles_come_newest_first_without_hidden_ones(client: Client, corpus) -> None:
    page = client.get("/").content.decode()
    html = section(page, "latest-title")
    listed = re.findall(r'class="article-list__title" href="[^"]+">([^<]+)</a>', html)
    lead, secondary = front_titles(page)
    # the newest ones lead the page's front; the list goes on from there, nothing twice
    assert secondary == [
        "勒索软件攻击医院系统事件通报28",
        "勒索软件攻击医院系统事件通报27",
        "勒索软件攻击医院系统事件通报26",
    ]
    assert listed[0] == "数据要素市场建设动态"
    published = Article.objects.filter(status=Article.Status.PUBLISHED).count()
    assert len({lead, *secondary, *listed}) == len(listed) + 4 == published
    assert "不应出现的隐藏文章" not in page
    # the source name links to the source's page
    source = Source.objects.get(name="威胁情报站")
    assert f'href="/sources/{source.pk}/">威胁情报站</a>' in html


def test_a_featured_article_leads_the_page_with_its_summary_and_picture(client: Client, corpus) -> None:
    Article.objects.filter(pk=corpus["old-3-0"].pk).update(
        summary="三月简报的摘要。", cover_image="https://img.example.cn/cover.jpg"
    )
    page = client.get("/").content.decode()
    lead, secondary = front_titles(page)
    assert lead == "3月网络安全工作简报0" and len(secondary) == 3
    front = section(page, "front-title")
    assert "三月简报的摘要。" in front and 'src="https://img.example.cn/cover.jpg"' in front
    assert "精选" in front and "不应出现的隐藏文章" not in page


def test_the_search_box_suggests_words_that_find_articles(client: Client, corpus) -> None:
    from search.selectors import SearchParams, article_search

    page = client.get("/").content.decode()
    placeholder = re.search(r'id="home-q"[^>]*placeholder="例如：([^"]+)"', page).group(1)
    examples = placeholder.split("、")
    assert examples
    for word in examples:
        assert article_search(params=SearchParams(q=word)).count > 0, word


def test_the_busiest_sources_of_the_week_end_on_the_newest_article(client: Client, corpus) -> None:
    html = section(client.get("/").content.decode(), "sources-title")
    assert "2024-06-22 至 2024-06-28" in html
    names = re.findall(r'href="/sources/\d+/">([^<]+)</a> <span class="count">(\d+) 篇', html)
    assert names == [("威胁情报站", "5"), ("数据观察", "1")]


def test_trending_keywords_of_the_week_link_to_a_search_and_say_how_old_the_data_is(
    client: Client, corpus
) -> None:
    html = section(client.get("/").content.decode(), "trending-title")
    assert "截至 2024-06-28 的近 7 天" in html
    assert "截至 2024-06-28 的近 30 天" in html
    week = html.split("近 30 天热门关键词")[0]
    words = link_texts(week, r'href="/search/\?q=([^"]+)"')
    # the ransomware wave beats the word every article has; hidden articles never count
    assert words.index("勒索软件") < words.index("网络安全")
    assert "简报" not in words
    assert "隐藏词" not in link_texts(html, r'href="/search/\?q=([^"]+)"')


def test_the_month_archive_counts_published_articles_and_links_each_month(client: Client, corpus) -> None:
    html = section(client.get("/").content.decode(), "archive-title")
    months = re.findall(
        r'<a href="/archive/(\d{4})/(\d{2})/">[^<]+</a> <span class="count">(\d+)</span>', html
    )
    assert months == [
        ("2024", "06", "6"),
        ("2024", "05", "2"),
        ("2024", "04", "2"),
        ("2024", "03", "2"),
        ("2024", "02", "2"),
        ("2024", "01", "2"),
    ]
    assert '2024 年 <span class="count">16 篇</span>' in html


def test_each_active_topic_has_a_chart_of_matching_articles_per_month(client: Client, corpus) -> None:
    html = section(client.get("/").content.decode(), "topics-title")
    assert "停用的话题" not in html
    charts = [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", html, flags=re.S)]
    assert [c.find(f"{SVG}title").text for c in charts] == [
        "“勒索软件”每月相关文章数",
        "“数据要素”每月相关文章数",
    ]
    ransomware = charts[0]
    bars = {r.find(f"{SVG}title").text for r in ransomware.iter(f"{SVG}rect")}
    assert "2024年6月：5 篇" in bars
    assert "2024年5月：0 篇" in bars
    assert len(bars) == 24
    june = next(a for a in ransomware.iter(f"{SVG}a") if "2024-06" in a.get("href"))
    query = parse_qs(urlparse(june.get("href")).query)
    assert query["q"] == ["勒索软件"] and query["month"] == ["2024-06"]
    # what the bar says is what its search finds
    found = client.get(june.get("href")).content.decode()
    assert "共 5 条结果" in found


def test_the_home_page_stays_within_twelve_queries(
    client: Client, corpus, django_assert_max_num_queries
) -> None:
    # First view after the articles changed: the topic counts come from the search index
    # (two row lookups per topic for the one hit it returns, plus a dictionary check).
    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200
    # Then the derived numbers are cached until an article changes: seven queries, one per block.
    with django_assert_max_num_queries(7):
        assert client.get("/").status_code == 200
    article_make(title="新到的一篇", published=NEWEST)
    with django_assert_max_num_queries(12):
        assert "新到的一篇" in client.get("/").content.decode()


def test_the_home_page_works_with_no_articles_at_all(client: Client, transactional_db: None) -> None:
    cache.clear()
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "暂时还没有文章" in html


class _EngineDown:
    def search(self, plan):
        raise EngineUnavailable("Elasticsearch 无法连接")


def test_the_home_page_shows_without_trend_charts_while_the_search_engine_is_down(
    client: Client, corpus, monkeypatch
) -> None:
    cache.clear()
    monkeypatch.setattr("search.selectors.engine_get", lambda using="default": _EngineDown())
    response = client.get("/")
    assert response.status_code == 200
    assert "“勒索软件”每月相关文章数" not in response.content.decode()
    # nothing was cached meanwhile: the charts come back with the engine
    monkeypatch.undo()
    assert "“勒索软件”每月相关文章数" in client.get("/").content.decode()
