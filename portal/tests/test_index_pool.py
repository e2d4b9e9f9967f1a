"""On Elasticsearch the index queue's consumer is a pool: two processes index at once, never the
same article, and a pool process killed mid-batch loses nothing (real Redis, Celery,
PostgreSQL and Elasticsearch)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from elasticsearch import helpers
from haystack import connections

from articles.models import Article
from articles.tests.factories import article_make
from conftest import celery_broker
from search.backlog import POOL_BATCH_SIZE, index_wakeups_deferred
from search.models import IndexChange
from search.tests.engine_contract.test_elasticsearch import elasticsearch_connection, node_required

from .stack import RedisServer, children_of, stack_running, wait_for
from .test_fault_index import cpu_ticks

pytestmark = [pytest.mark.faults, pytest.mark.elasticsearch]

# Several pool batches, so the first claim wakes a second pool process.
ARTICLES = POOL_BATCH_SIZE * 3 + 120
PARAGRAPH = "黔东南州推进数据要素流通试点，建设行业数据空间并完善公共数据授权运营机制。" * 12


def busy_children(worker_pid: int) -> set[int]:
    """The pool processes working right now (their CPU time grows over the same 0.4 s)."""
    before = {}
    for child in children_of(worker_pid):
        try:
            before[child] = cpu_ticks(child)
        except FileNotFoundError:
            continue
    time.sleep(0.4)
    busy = set()
    for child, ticks in before.items():
        try:
            if cpu_ticks(child) - ticks >= 8:
                busy.add(child)
        except FileNotFoundError:
            continue
    return busy


@pytest.fixture
def pool_stack(transactional_db, tmp_path) -> Iterator[tuple]:
    if connection.vendor != "postgresql":
        pytest.skip("the pool claims batches with SELECT … FOR UPDATE SKIP LOCKED: PostgreSQL pass only")
    node_required()
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    with elasticsearch_connection() as alias:
        index_name = connections[alias].get_backend().index_name
        try:
            with (
                stack_running(
                    redis_server=redis_server,
                    workdir=tmp_path,
                    SEARCH_BACKEND="elasticsearch",
                    ELASTICSEARCH_INDEX=index_name,
                ) as stack,
                celery_broker(redis_server.url),
            ):
                yield stack, alias
        finally:
            redis_server.kill()


def backlog_make() -> set[int]:
    with index_wakeups_deferred():  # one wake-up for the whole backlog
        articles = [
            article_make(title=f"索引工作池第{n}篇", body=f"第{n}号试点。" + PARAGRAPH)
            for n in range(ARTICLES)
        ]
    assert IndexChange.objects.count() == ARTICLES
    return {a.id for a in articles}


def two_at_work(*, stack, worker) -> set[int]:
    """Wait until both pool processes work at the same moment: the first claim woke the second."""
    both: set[int] = set()
    deadline = time.monotonic() + 90
    while len(both) < 2 and time.monotonic() < deadline and IndexChange.objects.exists():
        both = busy_children(worker.pid)
    assert len(both) == 2, f"never two writers at once; log:\n{stack.log(worker)[-3000:]}"
    return both


def drained(*, stack, worker, alias: str, ids: set[int]) -> None:
    assert wait_for(lambda: not IndexChange.objects.exists(), timeout=180, interval=0.5), stack.log(worker)[
        -3000:
    ]
    engine_ids = set(connections[alias].get_backend().indexed_documents())
    published = set(Article.objects.filter(status=Article.Status.PUBLISHED).values_list("pk", flat=True))
    assert ids <= engine_ids == published


def test_two_index_workers_write_at_once_and_never_the_same_article(pool_stack):
    stack, alias = pool_stack
    ids = backlog_make()
    worker = stack.worker(name="index-pool", queue="index", concurrency=2)
    two_at_work(stack=stack, worker=worker)
    drained(stack=stack, worker=worker, alias=alias, ids=ids)
    # A document's version counts its writes: each article was written by one process, once.
    versions = document_versions(alias=alias)
    assert len(versions) == ARTICLES
    twice = sorted(pk for pk, version in versions.items() if version > 1)
    assert twice == [], f"{len(twice)} articles written more than once"
    assert stack.restarts == []


def test_an_index_worker_killed_mid_batch_leaves_its_batch_to_the_pool(pool_stack):
    stack, alias = pool_stack
    ids = backlog_make()
    stack.beat()  # the sweep wakes the pool again after the kill
    worker = stack.worker(name="index-pool", queue="index", concurrency=2)
    both = two_at_work(stack=stack, worker=worker)
    # Its claim (row locks) goes with its database connection; the marks stay.
    os.kill(min(both), signal.SIGKILL)
    drained(stack=stack, worker=worker, alias=alias, ids=ids)
    assert stack.restarts == []


def document_versions(*, alias: str) -> dict[int, int]:
    backend = connections[alias].get_backend()
    hits = helpers.scan(
        backend.conn,
        index=backend.index_name,
        query={"query": {"match_all": {}}, "_source": ["django_id"], "version": True},
        size=2000,
    )
    return {int(hit["_source"]["django_id"]): int(hit["_version"]) for hit in hits}
