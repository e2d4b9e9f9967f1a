"""Redis down or restarted empty: the work is in the database and is done once Redis is back."""

from __future__ import annotations

import pytest

from articles.models import IngestItem
from articles.tests.helpers import write_article

from .conftest import assert_each_file_processed_once, assert_index_in_step
from .stack import manage, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.corpus]

BROKER_DOWN = "消息队列（Redis）暂时无法连接"


def test_an_ingest_while_redis_is_down_is_recorded_and_done_once_redis_is_back_empty(
    faults, corpus_dir, tmp_path
):
    stack = faults.stack
    env = stack.env()
    assert not faults.redis.answers()
    small = tmp_path / "small"
    small.mkdir()
    for n in range(3):
        write_article(
            small,
            f"{n}.md",
            title=f"断线导入测试第{n}篇",
            url=f"https://example.org/broker-down/{n}",
            source="断线测试",
            body=f"消息队列断开时导入的第{n}篇文章正文。",
        )

    # Asked to wait: one plain line and a non-zero exit, no traceback.
    waited = manage("ingest", str(small), "--no-progress", env=env)
    assert waited.returncode == 1
    assert BROKER_DOWN in waited.stderr
    assert "Traceback" not in waited.stdout + waited.stderr
    # Not asked to wait: the same line, and success: the work is recorded.
    queued = manage("ingest", str(corpus_dir), "--no-wait", "--no-progress", env=env)
    assert queued.returncode == 0, queued.stderr
    assert BROKER_DOWN in queued.stdout
    assert "Traceback" not in queued.stdout + queued.stderr

    files = 3 + len(list(corpus_dir.glob("*.md")))
    pending = IngestItem.objects.filter(outcome=IngestItem.Outcome.PENDING)
    assert pending.count() == files
    assert not pending.filter(queued_at__isnull=False).exists()

    # Redis comes back with nothing in it; the workers' sweep at connect and beat do the rest.
    faults.redis.start()
    stack.worker(name="index", queue="index", concurrency=1)
    stack.beat()
    stack.worker(name="ingest", queue="ingest", concurrency=2)
    faults.wait_settled(timeout=240)
    assert_each_file_processed_once(files=files)
    assert_index_in_step()


def test_redis_killed_mid_ingest_and_restarted_empty_loses_nothing(faults, corpus_dir):
    files = len(list(corpus_dir.glob("*.md")))
    stack = faults.stack
    faults.redis.start()
    stack.worker(name="index", queue="index", concurrency=1)
    stack.beat()
    stack.worker(name="ingest", queue="ingest", concurrency=2)

    started = manage("ingest", str(corpus_dir), "--no-wait", "--no-progress", env=stack.env())
    assert started.returncode == 0, started.stderr
    assert wait_for(lambda: faults.done() >= files * 0.3, timeout=120, interval=0.2)

    before = faults.redis.task_ids()
    faults.redis.kill()
    assert before and faults.pending() > 0
    faults.redis.start()  # empty: every queued message and every unacknowledged one is gone
    # (The workers reconnect at once and their sweep queues work again, under new ids.)
    assert not before & faults.redis.task_ids()

    faults.wait_settled(timeout=240)
    # A worker may have exited when Redis vanished (see Stack); restarted, it lost nothing.
    print(f"workers restarted by the supervisor: {stack.restarts or 'none'}")
    assert_each_file_processed_once(files=files)
    assert_index_in_step()
