"""Source, author and month archive pages: content, links, paging and a fixed number of queries."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from articles.models import Article, Author, Source
from articles.tests.factories import article_make

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def chart_of(html: str) -> ET.Element:
    match = re.search(r"<svg .*?</svg>", html, flags=re.S)
    assert match, "page has no chart"
    return ET.fromstring(match.group())


def titles(html: str) -> list[str]:
    return re.findall(r'class="article-list__title" href="[^"]+">([^<]+)</a>', html)


def articles_make(
    count: int, *, source: str = "网信观察", author: str = "李华", start=datetime.date(2024, 3, 1)
):
    made = []
    for i in range(count):
        made.append(
            article_make(
                title=f"{source}第{i + 1}篇：数据安全治理动态",
                body="正文。",
                source=source,
                authors=(author,),
                published=start + datetime.timedelta(days=7 * i),
            )
        )
    return made


def test_the_source_page_shows_its_name_site_count_chart_and_a_search_link(client: Client) -> None:
    articles_make(3)
    article_make(title="隐藏的文章", source="网信观察", status=Article.Status.HIDDEN)
    article_make(title="别的来源的文章", source="别处", published=datetime.date(2024, 3, 2))
    source = Source.objects.get(name="网信观察")
    Source.objects.filter(pk=source.pk).update(site="news.example.cn")

    response = client.get(f"/sources/{source.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<h1 class="browse-head__title">网信观察</h1>' in html
    assert "news.example.cn" in html
    assert "<dd>3 篇</dd>" in html
    assert titles(html) == [
        "网信观察第3篇：数据安全治理动态",
        "网信观察第2篇：数据安全治理动态",
        "网信观察第1篇：数据安全治理动态",
    ]
    link = re.search(r'class="button-link" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert urlparse(link).path == "/search/"
    assert parse_qs(urlparse(link).query)["source"] == ["网信观察"]


def test_the_chart_counts_articles_per_month_with_empty_months_in_between(client: Client) -> None:
    for published in (datetime.date(2024, 1, 5), datetime.date(2024, 1, 20), datetime.date(2024, 4, 2)):
        article_make(title=f"月度统计{published}", source="统计来源", published=published)
    source = Source.objects.get(name="统计来源")
    root = chart_of(client.get(f"/sources/{source.pk}/").content.decode())
    assert root.get("role") == "img"
    bars = [r.find(f"{SVG}title").text for r in root.iter(f"{SVG}rect")]
    # the same 24 months as every month chart, ending at the source's last month
    assert len(bars) == 24 and bars[0] == "2022年5月：0 篇"
    assert bars[-4:] == ["2024年1月：2 篇", "2024年2月：0 篇", "2024年3月：0 篇", "2024年4月：1 篇"]
    hrefs = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert parse_qs(urlparse(hrefs[-4]).query) == {
        "source": ["统计来源"],
        "month": ["2024-01"],
        "sort": ["newest"],
    }


def test_the_source_page_pages_through_its_articles_twenty_at_a_time(client: Client) -> None:
    articles_make(25)
    source = Source.objects.get(name="网信观察")
    first = client.get(f"/sources/{source.pk}/").content.decode()
    second = client.get(f"/sources/{source.pk}/?page=2").content.decode()
    assert len(titles(first)) == 20
    assert len(titles(second)) == 5
    assert 'rel="next" href="?page=2"' in first
    assert "第 2 / 2 页" in second
    assert set(titles(first)).isdisjoint(titles(second))
    # a page number past the end or not a number shows a real page instead of an error
    assert client.get(f"/sources/{source.pk}/?page=99").status_code == 200
    assert client.get(f"/sources/{source.pk}/?page=abc").status_code == 200


def test_unknown_sources_authors_and_months_are_not_found(client: Client) -> None:
    assert client.get("/sources/999999/").status_code == 404
    assert client.get("/authors/999999/").status_code == 404
    assert client.get("/archive/2024/13/").status_code == 404
    assert client.get("/archive/2024/0/").status_code == 404


def test_the_author_page_lists_their_articles_sources_and_links_back(client: Client) -> None:
    articles_make(2, source="甲来源", author="王芳")
    articles_make(1, source="乙来源", author="王芳", start=datetime.date(2024, 6, 1))
    articles_make(1, source="乙来源", author="别人")
    author = Author.objects.get(name="王芳")
    html = client.get(f"/authors/{author.pk}/").content.decode()
    assert "<dd>3 篇</dd>" in html
    assert len(titles(html)) == 3
    assert titles(html)[0] == "乙来源第1篇：数据安全治理动态"
    # source names link to their pages, the author name to this page
    first_source = Source.objects.get(name="甲来源")
    assert f'href="/sources/{first_source.pk}/">甲来源</a>（2）' in html
    assert f'<a href="/authors/{author.pk}/">王芳</a>' in html
    link = re.search(r'class="button-link" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlparse(link).query)["author"] == ["王芳"]
    assert len(list(chart_of(html).iter(f"{SVG}rect"))) == 24  # the common window, to June 2024


def test_the_month_archive_lists_that_month_only_with_links_to_its_neighbours(client: Client) -> None:
    article_make(title="三月的文章", published=datetime.date(2024, 3, 31))
    article_make(title="五月的文章甲", published=datetime.date(2024, 5, 1))
    article_make(title="五月的文章乙", published=datetime.date(2024, 5, 20))
    article_make(title="五月的隐藏文章", published=datetime.date(2024, 5, 21), status=Article.Status.HIDDEN)
    article_make(title="七月的文章", published=datetime.date(2024, 7, 1))
    html = client.get("/archive/2024/5/").content.decode()
    assert '<h1 class="browse-head__title">2024年5月</h1>' in html
    assert titles(html) == ["五月的文章乙", "五月的文章甲"]
    assert 'rel="prev" href="/archive/2024/03/"' in html
    assert 'rel="next" href="/archive/2024/07/"' in html
    # a month with nothing still answers, pointing at the months around it
    empty = client.get("/archive/2024/6/").content.decode()
    assert "这个月没有公开的文章" in empty
    assert 'href="/archive/2024/05/"' in empty and 'href="/archive/2024/07/"' in empty


@pytest.mark.parametrize(
    ("url_of", "expected"),
    [
        (lambda s, a: f"/sources/{s.pk}/", 5),
        (lambda s, a: f"/authors/{a.pk}/", 6),
        (lambda s, a: "/archive/2024/03/", 4),
    ],
    ids=["source", "author", "archive"],
)
def test_the_number_of_queries_does_not_grow_with_the_number_of_articles(
    client: Client, django_assert_num_queries, url_of, expected
) -> None:
    counts = []
    for total in (3, 30):
        Article.objects.all().delete()
        # every article in March 2024, each with two authors, so every page lists 3 or 20 rows
        for i in range(total):
            article_make(
                title=f"查询计数第{i}篇",
                source="计数来源",
                authors=("计数作者", f"合著者{i}"),
                published=datetime.date(2024, 3, 1 + i % 28),
            )
        source = Source.objects.get(name="计数来源")
        author = Author.objects.get(name="计数作者")
        with django_assert_num_queries(expected):
            response = client.get(url_of(source, author))
        assert response.status_code == 200
        assert len(titles(response.content.decode())) == min(total, 20)
        with CaptureQueriesContext(connection) as captured:
            client.get(url_of(source, author))
        counts.append(len(captured))
    assert counts[0] == counts[1] == expected


def test_the_sources_page_lists_every_source_with_published_articles_most_first(
    client: Client, django_assert_num_queries
) -> None:
    import datetime

    from articles.models import Article
    from articles.tests.factories import article_make

    for n in range(3):
        day = datetime.date(2024, 5, n + 1)
        article_make(title=f"测试稿：甲来源第{n}篇", source="测试来源甲", published=day)
    article_make(title="测试稿：乙来源", source="测试来源乙")
    article_make(title="测试稿：隐藏", source="测试来源丙", status=Article.Status.HIDDEN)
    with django_assert_num_queries(1):
        html = client.get("/sources/").content.decode()
    assert html.index("测试来源甲") < html.index("测试来源乙")
    assert "测试来源丙" not in html
    assert "3 篇" in html and "2024年5月3日" in html
    assert 'href="/sources/' in html and 'aria-current="page">来源</a>' in html
