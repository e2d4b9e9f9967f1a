"""List pages stay at a fixed number of queries however many rows they show."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from haystack import connections

from articles.tests.factories import article_make

pytestmark = pytest.mark.django_db(transaction=True)


def _articles(start: int, count: int) -> None:
    with transaction.atomic():
        for i in range(start, start + count):
            article_make(
                title=f"查询计数测试第{i}篇：算力调度",
                body="算力调度平台接入更多数据中心。",
                source=f"来源{i % 4}",
                authors=(f"作者{i % 3}", f"作者{i % 5 + 10}"),
                tags=(f"标签{i % 2}",),
            )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/search/?q=算力调度", "/search/", "/api/search?q=算力调度&page_size=50"])
def test_search_results_cost_the_same_queries_for_3_or_30_hits(client, url):
    connections["default"].get_backend().clear()
    _articles(0, 3)
    few = _queries(client, url)
    _articles(3, 27)
    many = _queries(client, url)
    assert few == many
    assert many <= 6


def test_the_admin_article_list_costs_the_same_queries_for_3_or_30_rows(client):
    client.force_login(User.objects.create_superuser("root", password="pw-root-123"))
    _articles(0, 3)
    few = _queries(client, "/admin/articles/article/")
    _articles(3, 27)
    assert _queries(client, "/admin/articles/article/") == few
