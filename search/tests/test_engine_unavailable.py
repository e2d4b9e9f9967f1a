"""A search engine that cannot be reached: readers get a Chinese message, never a 500.

The engine is the real Elasticsearch engine on a haystack connection to a loopback port
nothing listens on, so every request is refused at once; no server is needed.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.test import Client
from haystack import connections

from search import checks
from search.engines.contract import EngineUnavailable, IndexBusy, QueryPlan
from search.engines.elasticsearch.engine import ElasticsearchSearchEngine

ENGINE = "search.engines.elasticsearch.backend.ChineseElasticsearchEngine"


def dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def dead_engine(settings) -> Iterator[ElasticsearchSearchEngine]:
    alias = "unreachable_elasticsearch"
    settings.HAYSTACK_CONNECTIONS[alias] = {
        "ENGINE": ENGINE,
        "URL": dead_url(),
        "INDEX_NAME": "portal_test_unreachable",
        "KWARGS": {"max_retries": 0},
    }
    try:
        yield ElasticsearchSearchEngine(using=alias)
    finally:
        connections.thread_local.connections.pop(alias, None)
        settings.HAYSTACK_CONNECTIONS.pop(alias, None)


@pytest.fixture
def engine_down(dead_engine, monkeypatch) -> ElasticsearchSearchEngine:
    """Every search of the site goes to the unreachable engine."""
    monkeypatch.setattr("search.selectors.engine_get", lambda using="default": dead_engine)
    return dead_engine


def test_the_engine_says_it_is_unavailable(dead_engine):
    with pytest.raises(EngineUnavailable, match="无法连接"):
        dead_engine.search(QueryPlan(query=None))
    with pytest.raises(EngineUnavailable):
        dead_engine.terms_expand(fieldname="text", needle="税")


def test_writes_to_an_unreachable_engine_wait_as_busy(dead_engine):
    with pytest.raises(IndexBusy, match="无法连接"):
        dead_engine.documents_apply(objects=(), remove_ids=["articles.article.1"])


def test_health_says_the_node_is_unreachable(dead_engine):
    health = dead_engine.health()
    assert not health.exists
    assert "无法连接" in health.hint and "elasticsearch.sh" in health.hint


@pytest.mark.django_db
def test_the_search_page_shows_a_message_with_503(client: Client, engine_down):
    response = client.get("/search/", {"q": "税"})
    assert response.status_code == 503
    text = response.content.decode()
    assert "检索暂时不可用" in text and "请稍后再试" in text


@pytest.mark.django_db
def test_the_api_answers_503_with_a_message(client: Client, engine_down):
    response = client.get("/api/search", {"q": "税"})
    assert response.status_code == 503
    assert "请稍后再试" in response.json()["error"]


@pytest.mark.django_db
def test_a_search_feed_answers_503(client: Client, engine_down):
    response = client.get("/feeds/search.rss", {"q": "税"})
    assert response.status_code == 503
    assert "请稍后再试" in response.content.decode()


def test_the_start_up_check_reports_an_unreachable_node(settings, dead_engine):
    settings.SEARCH_BACKEND = "elasticsearch"
    problems = checks.elasticsearch_reachable_check(None, using=dead_engine.using)
    assert [p.id for p in problems] == ["search.W002"]
    assert "无法连接" in problems[0].msg


def test_manage_py_check_stays_quiet_on_whoosh(settings):
    settings.SEARCH_BACKEND = "whoosh"
    assert checks.elasticsearch_reachable_check(None) == []
    call_command("check", "--tag", "search")
