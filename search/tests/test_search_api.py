"""The JSON API at /api/ against a real Whoosh index built from rows in the test database."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from articles.models import Article
from search.tests.test_search_page import T, corpus_create, index_clear

SEARCH_API = "/api/search"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def corpus(transactional_db: None) -> Iterator[dict[str, Article]]:
    index_clear()
    yield corpus_create()
    index_clear()


def api_get(client: Client, query: str = "") -> tuple[int, dict[str, Any]]:
    response = client.get(f"{SEARCH_API}?{query}" if query else SEARCH_API)
    assert response["Content-Type"].startswith("application/json")
    return response.status_code, json.loads(response.content)


def titles(body: dict[str, Any]) -> list[str]:
    return [hit["title"] for hit in body["results"]]


def test_an_empty_query_lists_every_published_article_with_all_facets(client: Client, corpus) -> None:
    status, body = api_get(client)
    assert status == 200
    assert body["count"] == 4
    assert (body["page"], body["page_size"], body["num_pages"]) == (1, 20, 1)
    assert sorted(titles(body)) == sorted(T.values())
    assert set(body["facets"]) == {"source", "author", "tag", "policy", "issuer", "doctype", "year", "month"}
    assert body["facets"]["doctype"] == [{"value": "新闻报道", "count": 4}]
    assert body["policy"] is None
    sources = {item["value"]: item["count"] for item in body["facets"]["source"]}
    assert sources == {"新华视点": 2, "经济日报": 1, "人民网": 1}
    years = {item["value"]: item["count"] for item in body["facets"]["year"]}
    assert years == {"2024": 2, "2023": 2}
    assert {"value": "2024-05", "count": 1} in body["facets"]["month"]


def test_each_result_carries_its_metadata_and_a_plain_snippet(client: Client, corpus) -> None:
    _, body = api_get(client, "q=新能源汽车")
    assert titles(body) == [T["vehicles"]]
    hit = body["results"][0]
    assert set(hit) == {
        "id",
        "title",
        "url",
        "source",
        "authors",
        "published",
        "snippet",
        "story_size",
        "reposts",
    }
    assert hit["id"] == corpus["vehicles"].pk
    assert hit["source"] == "经济日报"
    assert sorted(hit["authors"]) == ["李华", "王明"]
    assert hit["published"] == "2024-03-02"
    assert hit["url"] == corpus["vehicles"].get_absolute_url()
    assert "<mark>" not in hit["snippet"]


def test_repeated_source_values_are_combined_with_or(client: Client, corpus) -> None:
    _, body = api_get(client, "source=新华视点&source=人民网")
    assert sorted(titles(body)) == sorted([T["digital"], T["business"], T["government"]])


def test_author_and_tag_filters_narrow_the_results(client: Client, corpus) -> None:
    _, by_author = api_get(client, "author=王明")
    _, by_tag = api_get(client, "tag=产业政策")
    _, both = api_get(client, "author=王明&tag=数字经济")
    assert sorted(titles(by_author)) == sorted([T["digital"], T["vehicles"]])
    assert titles(by_tag) == [T["vehicles"]]
    assert titles(both) == [T["digital"]]


def test_year_month_and_date_range_filters_use_the_publication_date(client: Client, corpus) -> None:
    _, by_year = api_get(client, "year=2023")
    _, by_month = api_get(client, "month=2023-11&month=2023-05")
    _, by_range = api_get(client, "date_from=2023-06-01&date_to=2024-03-02")
    assert sorted(titles(by_year)) == sorted([T["business"], T["government"]])
    assert sorted(titles(by_month)) == sorted([T["business"], T["government"]])
    assert sorted(titles(by_range)) == sorted([T["business"], T["vehicles"]])


def test_sort_orders_results_by_date(client: Client, corpus) -> None:
    _, newest = api_get(client, "sort=newest")
    _, oldest = api_get(client, "sort=oldest")
    by_date = [T["digital"], T["vehicles"], T["business"], T["government"]]
    assert titles(newest) == by_date
    assert titles(oldest) == list(reversed(by_date))


def test_page_and_page_size_split_the_results(client: Client, corpus) -> None:
    _, first = api_get(client, "sort=newest&page_size=3")
    _, second = api_get(client, "sort=newest&page_size=3&page=2")
    assert (first["count"], first["num_pages"], first["page_size"]) == (4, 2, 3)
    assert titles(first) == [T["digital"], T["vehicles"], T["business"]]
    assert second["page"] == 2
    assert titles(second) == [T["government"]]


@pytest.mark.parametrize("page", [3, 99999])
def test_a_page_past_the_end_is_empty_so_a_client_paging_until_empty_stops(
    client: Client, corpus, page: int
) -> None:
    status, body = api_get(client, f"sort=newest&page_size=3&page={page}")
    assert status == 200
    assert (body["page"], body["num_pages"], body["count"]) == (page, 2, 4)
    assert body["results"] == []
    # paging until a page is empty visits every result once and stops
    seen, number = [], 1
    while True:
        _, body = api_get(client, f"sort=newest&page_size=3&page={number}")
        if not body["results"]:
            break
        seen += titles(body)
        number += 1
    assert number == 3 and len(seen) == len(set(seen)) == 4


def test_in_title_searches_titles_only(client: Client, corpus) -> None:
    _, everywhere = api_get(client, "q=营商环境")
    _, title_only = api_get(client, "q=营商环境&in=title")
    assert sorted(titles(everywhere)) == sorted([T["business"], T["vehicles"]])
    assert titles(title_only) == [T["business"]]


def test_a_query_without_matches_returns_an_empty_list(client: Client, corpus) -> None:
    status, body = api_get(client, "q=量子通信卫星")
    assert status == 200
    assert body["count"] == 0
    assert body["results"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=2024-13-01", "date_from"),
        ("date_to=yesterday", "date_to"),
        ("date_from=2024-05-01&date_to=2024-01-01", "date_to"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page_size=1000", "page_size"),
        ("sort=bogus", "sort"),
        ("year=two-thousand", "year"),
        ("month=May", "month"),
        ("in=everything", "in"),
        ("q=" + "策" * 201, "q"),
    ],
)
def test_invalid_parameters_get_a_400_naming_the_field_in_chinese(
    client: Client, corpus, query: str, field: str
) -> None:
    status, body = api_get(client, query)
    assert status == 400
    assert set(body) == {"error", "fields"}
    assert field in body["fields"]
    assert CJK.search(body["error"])
    assert all(CJK.search(message) for message in body["fields"][field])


@pytest.mark.parametrize("query", ['"unclosed', "-", "OR OR"])
def test_a_malformed_query_gets_a_400_with_an_explanation(client: Client, corpus, query: str) -> None:
    response = client.get(SEARCH_API, {"q": query})
    body = json.loads(response.content)
    assert response.status_code == 400
    assert CJK.search(body["error"])
    assert "q" in body["fields"]


def test_the_article_endpoint_returns_metadata_and_clean_text(client: Client, corpus) -> None:
    article = corpus["digital"]
    response = client.get(f"/api/articles/{article.pk}")
    body = json.loads(response.content)
    assert response.status_code == 200
    assert body["id"] == article.pk
    assert body["title"] == T["digital"]
    assert body["source"] == "新华视点"
    assert body["authors"] == ["王明"]
    assert body["tags"] == ["数字经济"]
    assert body["published"] == "2024-05-10"
    assert body["fetched_at"].startswith("2024-06-01T08:00:00")
    assert "数字产业集群" in body["body_text"]
    for key in ("url", "canonical_url", "summary", "attribution", "cover_image", "body_markdown"):
        assert key in body


def test_the_article_endpoint_answers_404_for_hidden_and_missing_articles(client: Client, corpus) -> None:
    hidden = client.get(f"/api/articles/{corpus['hidden'].pk}")
    missing = client.get("/api/articles/999999")
    for response in (hidden, missing):
        assert response.status_code == 404
        assert CJK.search(json.loads(response.content)["error"])


def test_the_openapi_document_is_valid_json_listing_both_endpoints(client: Client, db) -> None:
    response = client.get("/api/openapi.json")
    document = json.loads(response.content)
    assert response.status_code == 200
    assert document["openapi"].startswith("3.")
    assert "/api/search" in document["paths"]
    assert "/api/articles/{id}" in document["paths"]
    parameters = {p["name"] for p in document["paths"]["/api/search"]["get"]["parameters"]}
    assert {"q", "source", "author", "tag", "policy", "year", "month", "date_from", "date_to"} <= parameters
    assert {"sort", "page", "page_size", "in"} <= parameters


def test_the_api_documentation_page_is_served(client: Client, db) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_reposts_of_one_story_come_back_as_one_result_with_their_sources(
    client: Client, transactional_db
) -> None:
    from articles.models import PolicyDocument, PolicyMention, Story
    from articles.tests.factories import article_make

    index_clear()
    story = Story.objects.create()
    first = article_make(title="转载测试：海港数据枢纽启用", body="海港数据枢纽正式启用。", source="甲号")
    second = article_make(title="海港数据枢纽启用（转载）", body="海港数据枢纽正式启用。", source="乙号")
    for article in (first, second):
        article.story = story
        article.save()
    document = PolicyDocument.objects.create(name="海港数据管理办法", kind="title")
    PolicyMention.objects.create(article=first, document=document, raw="海港数据管理办法")

    status, body = api_get(client, "q=海港数据枢纽")
    assert status == 200
    assert body["count"] == 1
    (hit,) = body["results"]
    assert hit["story_size"] == 2
    assert [r["source"] for r in hit["reposts"]] == [{"甲号": "乙号", "乙号": "甲号"}[hit["source"]]]

    status, body = api_get(client, "policy=海港数据管理办法")
    assert status == 200
    assert [r["id"] for r in body["results"]] == [first.id]
    assert body["facets"]["policy"] == [{"value": "海港数据管理办法", "count": 1}]


CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


@pytest.mark.parametrize(
    ("query", "same_as"),
    [
        ("q=%01数字%7F", "q=数字"),
        ("author=%00", ""),
        ("source=%01&source=新华视点", "source=新华视点"),
        ("year=%002024", "year=2024"),
        ("date_from=%01", ""),
    ],
)
def test_control_characters_in_search_parameters_are_dropped(
    client: Client, corpus, query: str, same_as: str
) -> None:
    status, body = api_get(client, query)
    assert status == 200, body
    assert titles(body) == titles(api_get(client, same_as)[1])


@pytest.fixture
def stored_before_cleaning(transactional_db) -> Iterator[Article]:
    """Two reposts as rows written before ingest cleaned titles, names and links."""
    from articles.models import Story
    from articles.tests.factories import article_make

    index_clear()
    story = Story.objects.create()
    first = article_make(
        title="港口\x01数据\x1b枢纽启用", source="甲\x02号", authors=("李\x03四",), body="港口数据枢纽启用。"
    )
    second = article_make(title="港口数据枢纽启用（转载）", source="乙号", body="港口数据枢纽启用。")
    first.url = first.canonical_url = "javascript:alert(1)"
    first.cover_image = "\x01javascript:alert(2)"
    first.summary = "摘要\x08带控制字符"  # not NUL: PostgreSQL refuses it in text
    first.story = story
    first.save()
    second.url = "data:text/html,hi"
    second.story = story
    second.save()
    yield first
    index_clear()


API_READS = ("/api/articles/{pk}", SEARCH_API + "?q=港口数据", "/api/suggest?q=港口数据")


def test_the_api_sends_no_control_characters_in_any_string(client: Client, stored_before_cleaning) -> None:
    for url in API_READS:
        response = client.get(url.format(pk=stored_before_cleaning.pk))
        assert response.status_code == 200, url
        payload = json.loads(response.content)
        assert [text for text in strings_in(payload) if CONTROLS.search(text)] == [], url
        assert "港口数据枢纽启用" in list(strings_in(payload)), url
    body = json.loads(client.get(f"/api/articles/{stored_before_cleaning.pk}").content)
    assert (body["source"], body["authors"], body["summary"]) == ("甲号", ["李四"], "摘要带控制字符")


def test_the_api_sends_an_empty_string_for_a_stored_link_that_is_not_http(
    client: Client, stored_before_cleaning
) -> None:
    body = json.loads(client.get(f"/api/articles/{stored_before_cleaning.pk}").content)
    assert (body["url"], body["canonical_url"], body["cover_image"]) == ("", "", "")
    for url in API_READS:
        payload = json.loads(client.get(url.format(pk=stored_before_cleaning.pk)).content)
        leaked = [text for text in strings_in(payload) if re.search("javascript:|data:", text, re.I)]
        assert leaked == [], url
