"""The ``index`` queue served by a real Celery worker on the real Redis."""

from __future__ import annotations

import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from haystack import connections

from articles import ingest, pipeline
from articles.inputs import InputFile
from articles.models import Article, IngestRun
from articles.tests.factories import article_make
from conftest import REDIS_INDEX_URL, celery_on_redis
from search.models import IndexChange
from search.selectors import SearchParams, article_search

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


@pytest.fixture
def index_worker(transactional_db):
    connections["default"].get_backend().clear()
    try:
        with (
            celery_on_redis(REDIS_INDEX_URL) as celery_app,
            start_worker(
                celery_app, queues=["index"], pool="solo", perform_ping_check=False, shutdown_timeout=30
            ),
        ):
            try:
                yield
            finally:
                # A test that failed halfway leaves its ingest's files pending: the worker would
                # wait out its commit interval for them (20 s here) past its shutdown timeout,
                # and the next test's worker would never start (Celery's start_worker waits
                # for it without a limit).
                IngestRun.objects.all().delete()
    finally:
        connections["default"].get_backend().clear()


def _backlog() -> str:
    """What the worker's wait depends on, for a timing assertion's message."""
    return (
        f"ingest items pending {pipeline.ingest_items_pending()}, "
        f"some unclaimed {pipeline.ingest_work_waiting()}; "
        f"index changes waiting {IndexChange.objects.count()}"
    )


def test_saving_an_article_is_indexed_by_the_worker_and_hiding_removes_it(index_worker):
    article = article_make(title="队列索引测试：星河数据港启用", body="星河数据港正式启用，提供算力服务。")
    assert _wait_for(lambda: _ids("星河数据港") == [article.id])

    article.status = Article.Status.HIDDEN
    article.save()
    assert _wait_for(lambda: _ids("星河数据港") == [])


def _segments() -> int:
    backend = connections["default"].get_backend()
    backend.setup()
    return len(backend.index.refresh()._segments())


def test_commits_wait_the_interval_only_while_an_ingest_has_files_left(index_worker, settings, tmp_path):
    settings.SEARCH_COMMIT_INTERVAL_SECONDS = 20
    first = article_make(title="提交间隔测试：青岚算力港", body="青岚算力港一期投运。")
    assert _wait_for(lambda: _ids("青岚算力港") == [first.id]), _backlog()  # (the worker's first commit)
    # an ingest is running: three files wait for a worker, more than the one change waiting
    run = ingest.ingest_run_start(
        trigger="command",
        sources=[InputFile(path=f"{n}.md", size=3, data=b"---\n") for n in range(3)],
        paths=[str(tmp_path)],
    )
    second = article_make(title="提交间隔测试：青岚算力港二期", body="青岚算力港二期开工。")
    started = time.monotonic()
    assert not _wait_for(lambda: second.id in _ids("青岚算力港"), timeout=4), _backlog()
    # its last files are in a worker's hands: what waits is committed at once, long before the
    # 20 s are up (and that worker's articles right after it, with nothing left to gather)
    for item in run.items.all():
        assert pipeline.ingest_item_claim(item_id=item.pk, token="elsewhere", worker="w/1")
    assert _wait_for(lambda: second.id in _ids("青岚算力港"), timeout=8), _backlog()
    assert time.monotonic() - started < 15


def test_commits_at_once_when_the_changes_waiting_outnumber_the_files_left(index_worker, settings, tmp_path):
    settings.SEARCH_COMMIT_INTERVAL_SECONDS = 20
    first = article_make(title="积压提交测试：澄江数据湾", body="澄江数据湾一期投运。")
    assert _wait_for(lambda: _ids("澄江数据湾") == [first.id]), _backlog()  # (the worker's first commit)
    ingest.ingest_run_start(
        trigger="command",
        sources=[InputFile(path=f"{n}.md", size=3, data=b"---\n") for n in range(2)],
        paths=[str(tmp_path)],
    )
    second = article_make(title="积压提交测试：澄江数据湾二期", body="澄江数据湾二期开工。")
    started = time.monotonic()
    assert not _wait_for(lambda: second.id in _ids("澄江数据湾"), timeout=4), _backlog()  # 1 change, 2 files
    # two more changes: three wait, for two files nobody has taken yet. They commit together:
    # made one after the other, a slow machine let the worker see two changes for two files
    # and commit at once (as it should), leaving the last change to wait out the interval.
    with transaction.atomic():
        more = [article_make(title=f"积压提交测试：澄江数据湾{n}期", body="澄江数据湾扩建。") for n in (3, 4)]
    assert _wait_for(lambda: len(_ids("澄江数据湾")) == 4, timeout=8), (_ids("澄江数据湾"), _backlog())
    assert {second.id, *(a.id for a in more)} <= set(_ids("澄江数据湾"))
    assert time.monotonic() - started < 15


def test_the_worker_merges_segments_beside_its_commits(index_worker, settings):
    # tiny tiers: three one-article segments fill a tier; a commit never merges them itself
    settings.SEARCH_MERGE_FLOOR_DOCS = 1
    settings.SEARCH_MERGE_FANOUT = 3
    settings.SEARCH_MERGE_INLINE_DOCS = 0
    # commits at least this far apart; a wake-up expires after two intervals, so not shorter
    # (a loaded machine may take a second or two to deliver one)
    settings.SEARCH_COMMIT_INTERVAL_SECONDS = 3

    def found() -> list[int]:
        return [h.id for h in article_search(params=SearchParams(q="北辰数据走廊", collapse=False)).results]

    made = []
    for n in range(4):
        made.append(
            article_make(title=f"分段合并测试第{n}篇：北辰数据走廊", body=f"北辰数据走廊第{n}期建设启动。")
        )
        # one article per commit, each waited for: every one is a segment of its own
        assert _wait_for(lambda n=n: len(found()) == n + 1), (n, found(), _segments())
    # the worker merged in the background: fewer segments than its four commits made, and
    # every article is found
    assert _wait_for(lambda: _segments() < 4, timeout=30), _segments()
    assert sorted(found()) == sorted(a.id for a in made)


def test_renaming_a_tag_and_a_source_reaches_the_page_facets_and_api_through_the_worker(index_worker, client):
    from articles.models import Source, Tag

    article = article_make(
        title="队列改名测试：数据出境申报",
        body="数据出境申报窗口开放。",
        source="队列改名来源",
        tags=("数据出境",),
    )
    assert _wait_for(lambda: _ids("数据出境申报窗口") == [article.id])

    def agree(*, tag: str, source: str) -> bool:
        api = client.get("/api/search", {"tag": tag, "source": source}).json()
        facets = client.get("/api/search").json()["facets"]
        page = client.get("/search/", {"tag": tag, "source": source}).content.decode()
        return (
            [hit["id"] for hit in api["results"]] == [article.id]
            and [item["value"] for item in facets["tag"]] == [tag]
            and [item["value"] for item in facets["source"]] == [source]
            and "队列改名测试：数据出境申报" in page
        )

    tag = Tag.objects.get(name="数据出境")
    tag.name = "数据跨境流动"
    tag.save()
    source = Source.objects.get(name="队列改名来源")
    source.name = "队列改名后的来源"
    source.save()
    # one wake-up each; the worker's next commit carries both
    assert _wait_for(lambda: agree(tag="数据跨境流动", source="队列改名后的来源"))
