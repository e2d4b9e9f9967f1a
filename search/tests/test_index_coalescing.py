"""Index tasks coalesce through Redis: a real Celery worker, the real Redis, the real Whoosh index.

Articles saved one transaction each send one message each; the worker must index them in few
Whoosh commits (counted as index generations, one per commit), still remove hidden and deleted
articles, and lose nothing when ids taken from the pending set are never committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from haystack import connections

from articles.models import Article
from articles.tests.factories import article_make
from conftest import REDIS_INDEX_URL, celery_on_redis

pytestmark = pytest.mark.redis

PENDING = settings.SEARCH_INDEX_PENDING_KEY


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _indexed() -> set[int]:
    return set(connections["default"].get_backend().indexed_documents())


def _generation() -> int:
    # Whoosh writes a new table of contents, one generation up, on every commit.
    backend = connections["default"].get_backend()
    if not backend.setup_complete:
        backend.setup()
    return backend.index.latest_generation()


class Broker:
    """The project's Celery app on Redis DB 12, with an index worker started on demand."""

    def __init__(self, app) -> None:
        self.app = app
        self.redis = redis.Redis.from_url(REDIS_INDEX_URL)

    def worker(self) -> AbstractContextManager:
        return start_worker(
            self.app, queues=["index"], pool="solo", perform_ping_check=False, shutdown_timeout=10
        )

    def drained(self) -> bool:
        # Every message taken and acknowledged (acks_late keeps a running one in "unacked").
        return self.redis.llen("index") == 0 and self.redis.hlen("unacked") == 0


@pytest.fixture
def broker(transactional_db) -> Iterator[Broker]:
    connections["default"].get_backend().clear()
    try:
        with celery_on_redis(REDIS_INDEX_URL) as celery_app:
            yield Broker(celery_app)
    finally:
        connections["default"].get_backend().clear()


def test_one_transaction_per_article_is_indexed_in_few_commits(broker):
    before = _generation()
    articles = [
        article_make(title=f"合并索引测试第{n}篇：云岭算力站", body="云岭算力站扩容。") for n in range(40)
    ]
    ids = {a.id for a in articles}
    # One message per transaction, every id pending, nothing indexed yet.
    assert broker.redis.llen("index") == 40
    assert {int(pk) for pk in broker.redis.smembers(PENDING)} == ids
    assert _generation() == before

    with broker.worker():
        assert _wait_for(lambda: ids <= _indexed())
        assert _wait_for(broker.drained)

    # The first task took every pending id; the other 39 found theirs done and did not commit.
    assert _generation() - before == 1
    assert broker.redis.scard(PENDING) == 0


def test_hidden_and_deleted_articles_leave_the_index_when_coalesced(broker):
    kept = article_make(title="合并下架测试：保留", body="滇池数据谷启用。")
    hidden = article_make(title="合并下架测试：隐藏", body="滇池数据谷启用。")
    deleted = article_make(title="合并下架测试：删除", body="滇池数据谷启用。")
    with broker.worker():
        assert _wait_for(lambda: {kept.id, hidden.id, deleted.id} <= _indexed())
        assert _wait_for(broker.drained)

    # While no worker runs: hide one, delete one, add one, each in its own transaction.
    hidden.status = Article.Status.HIDDEN
    hidden.save()
    deleted_id = deleted.id
    deleted.delete()
    added = article_make(title="合并下架测试：新增", body="滇池数据谷启用。")
    before = _generation()
    with broker.worker():
        assert _wait_for(lambda: _indexed() == {kept.id, added.id})
        assert _wait_for(broker.drained)
    assert _indexed() == {kept.id, added.id}
    assert hidden.id not in _indexed() and deleted_id not in _indexed()
    assert _generation() - before == 1


def test_ids_taken_from_the_pending_set_but_never_committed_are_indexed_from_their_messages(broker):
    articles = [
        article_make(title=f"合并丢失测试第{n}篇：洱海算力港", body="洱海算力港投用。") for n in range(12)
    ]
    ids = {a.id for a in articles}
    # A task that popped these ids and died before its commit: the set no longer has them.
    taken = {int(pk) for pk in broker.redis.spop(PENDING, 100)}
    assert taken == ids and broker.redis.scard(PENDING) == 0

    with broker.worker():
        assert _wait_for(lambda: ids <= _indexed())
        assert _wait_for(broker.drained)
    assert ids <= _indexed()


def test_a_change_after_a_task_read_the_rows_is_indexed_again(broker):
    article = article_make(title="合并更新测试：苍山", body="苍山云计算中心。")
    with broker.worker():
        assert _wait_for(lambda: article.id in _indexed())
        assert _wait_for(broker.drained)
        # Its done stamp is older than this change's message: the change must not be skipped.
        article.status = Article.Status.HIDDEN
        article.save()
        assert _wait_for(lambda: article.id not in _indexed())
        article.status = Article.Status.PUBLISHED
        article.save()
        assert _wait_for(lambda: article.id in _indexed())
