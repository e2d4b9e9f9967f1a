"""The index backlog: changes are marked in the database and worked off in few commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from haystack import connections

from articles.models import Article, IngestItem, IngestRun, Tag
from articles.signals import articles_changed_send, changes_batched
from articles.tests.factories import article_make
from search import backlog, tasks
from search.backlog import index_backlog_apply, index_changes_mark, index_wakeups_deferred
from search.models import IndexChange
from search.tests.index_state import index_generation, indexed_ids

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_index():
    backend = connections["default"].get_backend()
    backend.clear()
    yield
    backend.clear()


def test_a_save_marks_the_article_in_the_same_transaction_and_a_rollback_unmarks_it():
    with pytest.raises(RuntimeError), transaction.atomic(), index_wakeups_deferred():
        article_make(title="回滚测试：不应入索引", body="回滚测试正文。")
        assert IndexChange.objects.count() == 1
        raise RuntimeError("the change is abandoned")
    assert not IndexChange.objects.exists() and not Article.objects.exists()


def test_inline_the_backlog_is_worked_off_right_after_the_commit():
    article = article_make(title="即时索引测试：玉溪数据港", body="玉溪数据港上线。")
    assert article.id in indexed_ids()
    assert not IndexChange.objects.exists()


def test_a_change_committed_after_a_batch_was_read_stays_marked_and_is_indexed_again(monkeypatch):
    article = article_make(title="标记测试：红河算力站", body="红河算力站。")
    sync = backlog.articles_index_sync

    def sync_then_a_new_change(**kwargs):
        result = sync(**kwargs)
        # An editor hides the article while the batch is being written: a new mark, a new token.
        Article.objects.filter(pk=article.pk).update(status=Article.Status.HIDDEN)
        index_changes_mark(ids=[article.pk])
        return result

    with index_wakeups_deferred():
        index_changes_mark(ids=[article.id])
        monkeypatch.setattr(backlog, "articles_index_sync", sync_then_a_new_change)
        stats = index_backlog_apply(batch_size=10)
        monkeypatch.setattr(backlog, "articles_index_sync", sync)
        assert stats["batches"] == 1
        assert article.id in indexed_ids()  # the batch wrote what it read
        assert IndexChange.objects.filter(article_id=article.id).exists()  # the newer change is still owed
    assert article.id not in indexed_ids()
    assert not IndexChange.objects.exists()


def test_many_changes_are_indexed_in_one_commit_and_a_deleted_article_keeps_its_mark_until_removed():
    with index_wakeups_deferred():
        articles = [article_make(title=f"批量测试第{n}篇：曲靖", body="曲靖数据中心。") for n in range(30)]
        before = index_generation()
    assert index_generation() - before == 1
    gone = articles[0]
    with index_wakeups_deferred():
        gone_id = gone.id
        gone.delete()
        assert IndexChange.objects.filter(article_id=gone_id).exists()
    assert gone_id not in indexed_ids()
    assert not IndexChange.objects.exists()


def test_a_tag_added_from_the_tag_side_marks_every_article_it_touches():
    first = article_make(title="标签测试一：楚雄", body="楚雄。")
    second = article_make(title="标签测试二：楚雄", body="楚雄。")
    with index_wakeups_deferred():
        tag = Tag.objects.create(name="标签测试")
        tag.articles.add(first, second)
        assert set(IndexChange.objects.values_list("article_id", flat=True)) == {first.id, second.id}
    assert not IndexChange.objects.exists()


def test_a_bulk_write_announced_by_the_articles_app_is_indexed_in_one_commit_at_its_end():
    # The ingest command wraps its work in articles.signals.changes_batched(); the articles
    # app knows nothing of the index, the search app listens.
    with changes_batched():
        articles = [article_make(title=f"批量信号第{n}篇：昭通", body="昭通数据中心。") for n in range(12)]
        before = index_generation()
        assert not {a.id for a in articles} & indexed_ids()
    assert index_generation() - before == 1
    assert {a.id for a in articles} <= indexed_ids()


def test_stories_regrouped_with_an_update_reach_the_index_through_the_articles_signal():
    article = article_make(title="信号测试：丽江算力", body="丽江算力。")
    with index_wakeups_deferred():
        Article.objects.filter(pk=article.pk).update(status=Article.Status.HIDDEN)  # no post_save
        assert not IndexChange.objects.exists()
        articles_changed_send(ids=[article.pk])
        assert IndexChange.objects.filter(article_id=article.pk).exists()
    assert article.id not in indexed_ids()


def _ingest_waiting(*, unclaimed: int, claimed: int = 0) -> None:
    """A run with ``unclaimed`` files no worker has taken and ``claimed`` ones a worker holds."""
    run = IngestRun.objects.create(trigger=IngestRun.Trigger.COMMAND, paths=["测试"])
    lease = timezone.now() + timedelta(minutes=5)
    IngestItem.objects.bulk_create(
        [IngestItem(run=run, path=f"{n}.md", raw=b"x") for n in range(unclaimed)]
        + [
            IngestItem(run=run, path=f"c{n}.md", raw=b"x", claim_token="t", claimed_until=lease)
            for n in range(claimed)
        ]
    )


def _marks(count: int) -> None:
    IndexChange.objects.bulk_create(
        [IndexChange(article_id=10_000 + n, token=f"t{n}", changed_at=timezone.now()) for n in range(count)]
    )


@pytest.mark.parametrize(
    ("unclaimed", "claimed", "marks", "waits"),
    [
        (30, 0, 5, True),  # the ingest has far to go: the interval gathers its changes
        (3, 0, 5, False),  # fewer files left than marks waiting: committed now
        (2, 4, 5, True),  # files claimed count too: 6 left, 5 waiting
        (0, 6, 0, False),  # everything is in workers' hands
    ],
)
def test_the_index_worker_waits_out_its_interval_only_while_the_ingest_has_more_to_do_than_waits(
    monkeypatch, unclaimed, claimed, marks, waits
):
    _ingest_waiting(unclaimed=unclaimed, claimed=claimed)
    _marks(marks)
    sleeps: list[float] = []
    monkeypatch.setattr(tasks.time, "sleep", sleeps.append)
    tasks._wait_while_ingesting(seconds=0.05)
    assert bool(sleeps) is waits
