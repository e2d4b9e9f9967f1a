"""Workers that die lose nothing and do nothing twice (real Redis, real Celery processes, PostgreSQL)."""

from __future__ import annotations

import time

import pytest

from .conftest import (
    assert_each_file_processed_once,
    assert_index_in_step,
    kill_pool_children_every_second,
)
from .stack import manage, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.corpus]


def test_pool_processes_killed_every_second_then_the_whole_worker_lose_nothing(faults, corpus_dir):
    files = len(list(corpus_dir.glob("*.md")))
    faults.redis.start()
    stack = faults.stack
    stack.worker(name="index", queue="index", concurrency=1)
    stack.beat()
    ingest = stack.worker(name="ingest", queue="ingest", concurrency=2)

    started = manage("ingest", str(corpus_dir), "--no-wait", "--no-progress", env=stack.env())
    assert started.returncode == 0, started.stderr
    assert f"已将 {files} 个文件加入 ingest 队列" in started.stdout

    # SIGKILL a pool process every second while the ingest runs (Celery forks a new one each time).
    killed = kill_pool_children_every_second(
        worker=ingest, until=lambda: faults.done() >= files * 0.6, timeout=180
    )
    assert len(killed) >= 5, f"the ingest finished before the faults began ({len(killed)} kills)"
    assert faults.pending() > 0

    # Then the whole worker at once, in the middle of its work, and start it again.
    stack.kill_all(ingest)
    assert faults.pending() > 0
    stack.worker(name="ingest", queue="ingest", concurrency=2)
    restarted = time.monotonic()
    # Within two sweep periods of the restart, no item is held by a process that is gone.
    assert wait_for(lambda: not faults.stranded(), timeout=2 * stack.sweep_seconds), faults.stranded()
    faults.wait_settled(timeout=180)
    print(
        f"settled {time.monotonic() - restarted:.1f} s after the restart; {len(killed)} pool processes killed"
    )

    assert_each_file_processed_once(files=files)
    assert_index_in_step()
