"""The ``index`` queue served by a real Celery worker on the real Redis."""

from __future__ import annotations

import os
import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from haystack import connections

from articles.models import Article
from portal.celery import app
from search.selectors import SearchParams, article_search

from .factories import article_make

REDIS_URL = os.environ.get("PORTAL_TEST_INDEX_REDIS_URL", "redis://127.0.0.1:6379/12")

pytestmark = pytest.mark.redis


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _ids(q: str) -> list[int]:
    return [h.id for h in article_search(params=SearchParams(q=q)).results]


def _broker_pools_reset() -> None:
    # Connection and producer pools are cached on the app for the broker URL they
    # were first built with; drop them so sends go to the test broker.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def index_worker(transactional_db):
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:  # the suite needs Redis; say so plainly
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    client.flushdb()
    connections["default"].get_backend().clear()
    saved = {k: app.conf.get(k) for k in ("task_always_eager", "broker_url", "result_backend")}
    app.conf.update(task_always_eager=False, broker_url=REDIS_URL, result_backend=None)
    _broker_pools_reset()
    try:
        with start_worker(app, queues=["index"], pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.update(**saved)
        _broker_pools_reset()
        client.flushdb()
        connections["default"].get_backend().clear()


def test_saving_an_article_is_indexed_by_the_worker_and_hiding_removes_it(index_worker):
    article = article_make(title="队列索引测试：星河数据港启用", body="星河数据港正式启用，提供算力服务。")
    assert _wait_for(lambda: _ids("星河数据港") == [article.id])

    article.status = Article.Status.HIDDEN
    article.save()
    assert _wait_for(lambda: _ids("星河数据港") == [])
