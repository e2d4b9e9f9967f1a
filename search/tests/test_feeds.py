"""RSS 2.0 and Atom feeds of searches, sources and policy documents."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.test import Client

from articles.models import Article, PolicyDocument, PolicyMention
from search.tests.test_search_page import T, article_make, corpus_create, index_clear

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"


@pytest.fixture
def corpus(transactional_db: None) -> Iterator[dict[str, Article]]:
    index_clear()
    yield corpus_create()
    index_clear()


def feed_get(client: Client, url: str) -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200, response.content.decode()
    return ET.fromstring(response.content)


def rss_items(root: ET.Element) -> list[ET.Element]:
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    return channel.findall("item")


def rss_titles(root: ET.Element) -> list[str]:
    return [item.findtext("title") for item in rss_items(root)]


def atom_titles(root: ET.Element) -> list[str]:
    assert root.tag == f"{ATOM}feed"
    return [entry.findtext(f"{ATOM}title") for entry in root.findall(f"{ATOM}entry")]


def test_the_rss_feed_of_a_search_is_valid_and_every_item_has_its_fields(client: Client, corpus) -> None:
    root = feed_get(client, "/feeds/search.rss?q=新能源汽车")
    channel = root.find("channel")
    assert "新能源汽车" in channel.findtext("title")
    assert channel.findtext("link").startswith("http://testserver/search/?q=")
    items = rss_items(root)
    assert [item.findtext("title") for item in items] == [T["vehicles"]]
    item = items[0]
    link = item.findtext("link")
    assert link == f"http://testserver/articles/{corpus['vehicles'].pk}/"
    assert item.findtext("guid") == link
    assert item.findtext("pubDate").startswith("Sat, 02 Mar 2024 00:00:00")
    assert sorted(item.findtext(f"{DC}creator").split("、")) == ["李华", "王明"]
    assert item.findtext("description").startswith("规划明确了新能源汽车")


def test_the_atom_feed_of_a_search_has_entries_with_id_and_updated(client: Client, corpus) -> None:
    root = feed_get(client, "/feeds/search.atom?q=数字")
    assert root.findtext(f"{ATOM}id") and root.findtext(f"{ATOM}updated")
    entries = root.findall(f"{ATOM}entry")
    assert sorted(atom_titles(root)) == sorted([T["digital"], T["government"]])
    for entry in entries:
        assert entry.findtext(f"{ATOM}id")
        assert entry.findtext(f"{ATOM}updated")
        href = entry.find(f"{ATOM}link").get("href")
        assert urlsplit(href).path.startswith("/articles/")


def test_a_search_feed_lists_the_newest_first_unless_asked_otherwise(client: Client, corpus) -> None:
    newest = [T["digital"], T["vehicles"], T["business"], T["government"]]
    assert rss_titles(feed_get(client, "/feeds/search.rss")) == newest
    assert rss_titles(feed_get(client, "/feeds/search.rss?sort=oldest")) == newest[::-1]


def test_a_search_feed_follows_the_filters_and_ignores_the_page_number(client: Client, corpus) -> None:
    root = feed_get(client, "/feeds/search.rss?source=新华视点&page=2&page_size=1")
    assert rss_titles(root) == [T["digital"], T["business"]]
    root = feed_get(client, "/feeds/search.atom?source=新华视点&year=2024")
    assert atom_titles(root) == [T["digital"]]
    assert "内部讨论稿" not in ET.tostring(feed_get(client, "/feeds/search.rss?q=新能源汽车"), "unicode")


@pytest.mark.parametrize(
    "query",
    ["sort=random", "year=abc", "date_from=2024-13-01", "q=%22unclosed", "q=" + "长" * 201, "q=-"],
)
def test_bad_search_parameters_are_rejected_with_400(client: Client, corpus, query: str) -> None:
    for kind in ("rss", "atom"):
        response = client.get(f"/feeds/search.{kind}?{query}")
        assert response.status_code == 400
        assert "订阅参数有误" in response.content.decode()


def test_a_summary_with_markup_is_escaped_in_the_description(client: Client, corpus) -> None:
    article = corpus["digital"]
    article.summary = '<img src=x onerror="alert(1)">数字经济 & 实体经济'
    article.save()
    root = feed_get(client, "/feeds/search.rss?q=数字经济")
    description = rss_items(root)[0].findtext("description")
    # After XML parsing the reader still sees entities, so no tag can come alive in it.
    assert description == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;数字经济 &amp; 实体经济"


def test_the_feed_of_a_source_lists_its_published_articles(client: Client, corpus) -> None:
    source = corpus["vehicles"].source
    assert rss_titles(feed_get(client, f"/feeds/sources/{source.pk}.rss")) == [T["vehicles"]]
    assert atom_titles(feed_get(client, f"/feeds/sources/{source.pk}.atom")) == [T["vehicles"]]
    assert client.get("/feeds/sources/999999.rss").status_code == 404


def test_the_feed_of_a_policy_document_lists_the_articles_that_mention_it(client: Client, corpus) -> None:
    document = PolicyDocument.objects.create(name="关于加快发展数字经济的若干意见", kind="title")
    for key in ("digital", "hidden", "government"):
        PolicyMention.objects.create(article=corpus[key], document=document)
    root = feed_get(client, f"/feeds/policy/{document.pk}.rss")
    assert "关于加快发展数字经济的若干意见" in root.find("channel").findtext("title")
    assert rss_titles(root) == [T["digital"], T["government"]]
    assert atom_titles(feed_get(client, f"/feeds/policy/{document.pk}.atom")) == [
        T["digital"],
        T["government"],
    ]
    assert client.get("/feeds/policy/999999.atom").status_code == 404


def test_a_feed_holds_at_most_thirty_items(client: Client, corpus) -> None:
    for n in range(32):
        article_make(
            title=f"营商环境观察第{n}期",
            source="批量来源",
            published=datetime.date(2022, 1, 1) + datetime.timedelta(days=n),
            body="营商环境持续优化。",
        )
    root = feed_get(client, "/feeds/search.rss?source=批量来源")
    titles = rss_titles(root)
    assert len(titles) == 30
    assert titles[0] == "营商环境观察第31期"


def test_the_search_page_advertises_and_links_its_feeds(client: Client, corpus) -> None:
    html = client.get("/search/?q=数字&page=2").content.decode()
    assert '<link rel="alternate" type="application/rss+xml"' in html
    assert '<link rel="alternate" type="application/atom+xml"' in html
    assert 'href="/feeds/search.rss?q=%E6%95%B0%E5%AD%97"' in html
    assert ">订阅</a>" in html


@pytest.mark.parametrize("query", ["author=%00", "source=%01", "q=%01数字%7F", "tag=%1B&year=%002024"])
def test_control_characters_in_the_parameters_are_dropped_instead_of_breaking_the_feed(
    client: Client, corpus, query: str
) -> None:
    for kind in ("rss", "atom"):
        response = client.get(f"/feeds/search.{kind}?{query}")
        assert response.status_code == 200, response.content.decode()
        ET.fromstring(response.content)
        assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", response.content)


def test_an_article_stored_with_control_characters_does_not_break_any_feed(client: Client, corpus) -> None:
    # Rows written before ingest stripped control characters still hold them.
    article = article_make(
        title="数字\x01乡村\x0c建设",
        source="乡村\x01观察",
        authors=("张\x02三",),
        published=datetime.date(2024, 6, 1),
        body="数字乡村\x1b建设持续推进。",
    )
    PolicyMention.objects.create(
        article=article, document=PolicyDocument.objects.create(name="数字乡村\x01发展纲要", kind="title")
    )
    for kind in ("rss", "atom"):
        for url in (
            f"/feeds/search.{kind}?q=乡村",
            f"/feeds/search.{kind}",
            f"/feeds/sources/{article.source_id}.{kind}",
            f"/feeds/policy/{article.policy_mentions.get().document_id}.{kind}",
        ):
            response = client.get(url)
            assert response.status_code == 200, url
            root = ET.fromstring(response.content)
            assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", response.content), url
            text = ET.tostring(root, "unicode")
            assert "数字乡村建设" in text, url
