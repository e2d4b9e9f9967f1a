"""The index worker killed in the middle of a commit loses nothing (real Redis, Celery, PostgreSQL)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from articles.tests.factories import article_make
from search.backlog import index_wakeups_deferred
from search.models import IndexChange
from search.tests.index_state import indexed_ids

from .conftest import assert_index_in_step
from .stack import children_of, wait_for

pytestmark = [pytest.mark.faults]

ARTICLES = 240
KILLS = 3
# Enough text per article (~40 KB) that one batch takes the worker seconds to segment and write.
PARAGRAPH = "曲靖算力枢纽与昭通数据港协同建设，推动公共数据授权运营和跨区域调度试点。" * 40


def cpu_ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def busy_child(worker_pid: int) -> int | None:
    """The pool process that is working right now (its CPU time grows), if any."""
    for child in children_of(worker_pid):
        try:
            before = cpu_ticks(child)
            time.sleep(0.3)
            if cpu_ticks(child) - before >= 10:  # most of 0.3 s (100 ticks a second)
                return child
        except FileNotFoundError:
            continue
    return None


def test_the_index_worker_killed_mid_batch_three_times_indexes_every_change_once_back(faults):
    faults.redis.start()
    stack = faults.stack
    with index_wakeups_deferred():  # one wake-up for the whole backlog
        articles = [
            article_make(title=f"索引进程中断测试第{n}篇", body=f"第{n}段。" + PARAGRAPH * 10)
            for n in range(ARTICLES)
        ]
    ids = {a.id for a in articles}
    assert IndexChange.objects.count() == ARTICLES
    stack.beat()
    worker = stack.worker(name="index", queue="index", concurrency=1)

    killed = 0
    for _ in range(KILLS):
        # Kill the pool process while it works the batch, before its commit. After a kill
        # Celery forks a new one; the redelivered message or the sweep sets it to work.
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline and IndexChange.objects.exists():
            victim = busy_child(worker.pid)
        if victim is None:
            break
        os.kill(victim, signal.SIGKILL)
        killed += 1
        # Killed before its commit: nothing indexed, every mark still there.
        assert not ids & indexed_ids()
        assert IndexChange.objects.count() == ARTICLES
    assert killed == KILLS, f"the backlog was indexed before the faults began ({killed} kills)"

    # The redelivered message or the sweep wakes the new pool process; it indexes everything.
    assert wait_for(lambda: not IndexChange.objects.exists(), timeout=180, interval=0.5), stack.log(worker)[
        -3000:
    ]
    assert ids <= indexed_ids()
    assert_index_in_step()
