"""The index backlog through Redis: a real Celery worker, the real Redis, the real Whoosh index.

Articles saved one transaction each send one wake-up each; the worker must index them in few
Whoosh commits (counted as index generations, one per commit), still remove hidden and deleted
articles, and lose nothing when the wake-ups themselves are lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from haystack import connections

from articles.models import Article
from articles.tests.factories import article_make
from conftest import REDIS_INDEX_URL, celery_on_redis
from search.backlog import index_sweep
from search.models import IndexChange
from search.tests.index_state import index_generation, indexed_ids

pytestmark = pytest.mark.redis


def _wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


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
    before = index_generation()
    articles = [
        article_make(title=f"合并索引测试第{n}篇：云岭算力站", body="云岭算力站扩容。") for n in range(40)
    ]
    ids = {a.id for a in articles}
    # One wake-up per transaction, every id in the backlog, nothing indexed yet.
    assert broker.redis.llen("index") == 40
    assert set(IndexChange.objects.values_list("article_id", flat=True)) == ids
    assert index_generation() == before

    with broker.worker():
        assert _wait_for(lambda: ids <= indexed_ids())
        assert _wait_for(broker.drained)

    # The first task worked the whole backlog off; the other 39 found it empty and did not commit.
    assert index_generation() - before == 1
    assert not IndexChange.objects.exists()


def test_hidden_and_deleted_articles_leave_the_index_when_coalesced(broker):
    kept = article_make(title="合并下架测试：保留", body="滇池数据谷启用。")
    hidden = article_make(title="合并下架测试：隐藏", body="滇池数据谷启用。")
    deleted = article_make(title="合并下架测试：删除", body="滇池数据谷启用。")
    with broker.worker():
        assert _wait_for(lambda: {kept.id, hidden.id, deleted.id} <= indexed_ids())
        assert _wait_for(broker.drained)

    # While no worker runs: hide one, delete one, add one, each in its own transaction.
    hidden.status = Article.Status.HIDDEN
    hidden.save()
    deleted_id = deleted.id
    deleted.delete()
    added = article_make(title="合并下架测试：新增", body="滇池数据谷启用。")
    before = index_generation()
    with broker.worker():
        assert _wait_for(lambda: indexed_ids() == {kept.id, added.id})
        assert _wait_for(broker.drained)
    assert indexed_ids() == {kept.id, added.id}
    assert hidden.id not in indexed_ids() and deleted_id not in indexed_ids()
    assert index_generation() - before == 1


def _lose_every_message(broker: Broker, ids: set[int]) -> None:
    # Redis lost every message (restarted empty, say): the backlog in the database remains.
    broker.redis.delete("index")
    assert set(IndexChange.objects.values_list("article_id", flat=True)) == ids


def test_the_sweep_wakes_the_index_worker_once_when_the_backlog_has_no_wake_up(broker):
    ids = {article_make(title=f"清扫测试第{n}篇：抚仙湖算力站", body="抚仙湖算力站。").id for n in range(5)}
    _lose_every_message(broker, ids)
    assert index_sweep() == {"backlog": 5, "woken": 1}
    assert broker.redis.llen("index") == 1
    # A wake-up is already waiting: a second sweep adds nothing.
    assert index_sweep() == {"backlog": 5, "woken": 0}
    with broker.worker():
        assert _wait_for(lambda: ids <= indexed_ids())
        assert _wait_for(broker.drained)
    assert not IndexChange.objects.exists()
    assert index_sweep() == {"backlog": 0, "woken": 0}


def test_a_worker_that_connects_sweeps_so_wake_ups_lost_while_it_was_away_cost_nothing(broker):
    ids = {
        article_make(title=f"合并丢失测试第{n}篇：洱海算力港", body="洱海算力港投用。").id for n in range(12)
    }
    _lose_every_message(broker, ids)
    with broker.worker():
        assert _wait_for(lambda: ids <= indexed_ids())
        assert _wait_for(broker.drained)
    assert not IndexChange.objects.exists()


def test_a_change_after_a_task_read_the_rows_is_indexed_again(broker):
    article = article_make(title="合并更新测试：苍山", body="苍山云计算中心。")
    with broker.worker():
        assert _wait_for(lambda: article.id in indexed_ids())
        assert _wait_for(broker.drained)
        # Its done stamp is older than this change's message: the change must not be skipped.
        article.status = Article.Status.HIDDEN
        article.save()
        assert _wait_for(lambda: article.id not in indexed_ids())
        article.status = Article.Status.PUBLISHED
        article.save()
        assert _wait_for(lambda: article.id in indexed_ids())
