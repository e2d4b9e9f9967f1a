"""Title suggestions at /api/suggest for the search boxes."""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from articles.models import Article
from search.tests.test_search_page import article_make, index_clear

SUGGEST_API = "/api/suggest"


@pytest.fixture
def titles(transactional_db: None) -> Iterator[dict[str, Article]]:
    index_clear()
    with transaction.atomic():
        made = {
            f"economy{n}": article_make(
                title=f"数字经济发展观察第{n}期",
                source="观察来源",
                published=datetime.date(2024, 1, 1) + datetime.timedelta(days=n),
                body="本期观察聚焦产业数字化转型。",
            )
            for n in range(10)
        }
        made["vehicles"] = article_make(
            title="新能源汽车下乡活动启动",
            source="经济日报",
            published=datetime.date(2024, 6, 1),
            body="活动将持续到年底，数字经济企业也参与其中。",
        )
        made["hidden"] = article_make(
            title="新能源汽车内部通报",
            source="经济日报",
            published=datetime.date(2024, 6, 2),
            body="内部材料。",
            status=Article.Status.HIDDEN,
        )
    yield made
    index_clear()


def suggest_get(client: Client, q: str) -> tuple[int, Any]:
    response = client.get(SUGGEST_API, {"q": q})
    assert response["Content-Type"].startswith("application/json")
    return response.status_code, json.loads(response.content)


def test_it_suggests_published_titles_containing_the_text_typed(client: Client, titles) -> None:
    status, body = suggest_get(client, "新能源")
    assert status == 200
    assert body == [
        {
            "id": titles["vehicles"].pk,
            "title": "新能源汽车下乡活动启动",
            "url": f"/articles/{titles['vehicles'].pk}/",
        }
    ]


def test_it_matches_titles_only_not_bodies(client: Client, titles) -> None:
    _, body = suggest_get(client, "数字经济")
    assert body, "ten titles contain the words"
    assert all("数字经济" in item["title"] for item in body)
    assert titles["vehicles"].pk not in {item["id"] for item in body}


def test_it_returns_at_most_eight_suggestions(client: Client, titles) -> None:
    _, body = suggest_get(client, "观察")
    assert len(body) == 8
    assert len({item["id"] for item in body}) == 8


@pytest.mark.parametrize("q", ["", " ", "新", " 数 ", "--", '"('])
def test_fewer_than_two_characters_give_an_empty_list(client: Client, titles, q: str) -> None:
    assert suggest_get(client, q) == (200, [])


def test_half_typed_query_syntax_is_read_as_plain_words(client: Client, titles) -> None:
    status, body = suggest_get(client, '"新能源 (汽车')
    assert status == 200
    assert [item["title"] for item in body] == ["新能源汽车下乡活动启动"]


def test_a_text_longer_than_the_search_box_is_rejected_with_400(client: Client, titles) -> None:
    status, body = suggest_get(client, "长" * 201)
    assert status == 400
    assert "200" in body["error"]
    assert suggest_get(client, "长" * 200)[0] == 200


def test_every_search_box_is_marked_for_suggestions_and_loads_the_script(client: Client, titles) -> None:
    article = client.get(f"/articles/{titles['vehicles'].pk}/").content.decode()
    assert re.search(r'<input id="header-q"[^>]* data-suggest autocomplete="off">', article)
    assert 'data-suggest-url="/api/suggest"' in article
    assert '<script src="/static/js/suggest.js" defer></script>' in article
    search = client.get("/search/").content.decode()
    assert 'id="search-q"' in search
    assert re.search(r'<input id="search-q"[^>]* data-suggest autocomplete="off">', search)
    assert '<script src="/static/js/suggest.js" defer></script>' in search
