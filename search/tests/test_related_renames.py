"""Renaming a tag, a source or an author in the admin reaches the index: the search page, its
facets and the API agree with the new name (inline here; through the real index worker in
test_related_renames_worker)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from haystack import connections

from articles.models import Author, Source, Tag
from articles.tests.factories import article_make
from search.selectors import SearchParams, article_search

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tagged():
    connections["default"].get_backend().clear()
    with transaction.atomic():
        article = article_make(
            title="改名测试：出境评估申报",
            body="数据出境评估申报材料。",
            source="改名测试来源",
            tags=("数据出境",),
            authors=("改名作者",),
        )
    yield article
    connections["default"].get_backend().clear()


def facet_values(client: Client, name: str) -> list[str]:
    return [item["value"] for item in client.get("/api/search").json()["facets"][name]]


def admin_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("editor", password="pw-editor-123"))
    return client


def test_renaming_a_tag_in_the_admin_reindexes_its_articles(client: Client, tagged) -> None:
    tag = Tag.objects.get(name="数据出境")
    response = admin_client(client).post(
        f"/admin/articles/tag/{tag.pk}/change/", {"name": "数据跨境流动"}, follow=True
    )
    assert response.status_code == 200
    assert [h.id for h in article_search(params=SearchParams(tags=("数据跨境流动",))).results] == [tagged.pk]
    assert article_search(params=SearchParams(tags=("数据出境",))).count == 0
    assert facet_values(client, "tag") == ["数据跨境流动"]
    html = client.get("/search/", {"tag": "数据跨境流动"}).content.decode()
    assert "改名测试：出境评估申报" in html


@pytest.mark.parametrize(
    ("model", "old", "new", "facet"),
    [
        (Source, "改名测试来源", "改名后的来源", "source"),
        (Author, "改名作者", "改名后的作者", "author"),
    ],
)
def test_renaming_a_source_or_an_author_reindexes_their_articles(
    client: Client, tagged, model, old, new, facet
) -> None:
    item = model.objects.get(name=old)
    item.name = new
    item.save()
    assert facet_values(client, facet) == [new]
    assert client.get("/api/search", {facet: new}).json()["count"] == 1
