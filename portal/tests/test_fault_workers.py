"""Workers that die lose nothing and do nothing twice (real Redis, real Celery processes, PostgreSQL)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from .conftest import (
    assert_each_file_processed_once,
    assert_index_in_step,
    kill_pool_children_every_second,
)
from .stack import manage, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.corpus]


_URL_LINE = re.compile(r"^url:.*$", re.MULTILINE)


def _corpus_copies(corpus_dir: Path, into: Path, *, copies: int) -> int:
    """The real files ``copies`` times over, each copy under new URLs (new articles): workers
    that take 50 files a batch get through one copy in a few seconds, before the faults land."""
    into.mkdir()
    count = 0
    for copy in range(copies):
        for number, path in enumerate(sorted(corpus_dir.glob("*.md"))):
            text = path.read_text(encoding="utf-8", errors="replace")
            url = f"url: https://faults.invalid/copy-{copy}/{number}"
            text = (
                _URL_LINE.sub(url, text, count=1)
                if _URL_LINE.search(text)
                else text.replace("---", f"---\n{url}", 1)
            )
            (into / f"{copy}-{number:04d}.md").write_text(text, encoding="utf-8")
            count += 1
    return count


def test_pool_processes_killed_every_second_then_the_whole_worker_lose_nothing(faults, corpus_dir):
    folder = faults.workdir / "files"
    files = _corpus_copies(corpus_dir, folder, copies=10)
    faults.redis.start()
    stack = faults.stack
    stack.worker(name="index", queue="index", concurrency=1)
    stack.beat()
    ingest = stack.worker(name="ingest", queue="ingest", concurrency=2)

    started = manage("ingest", str(folder), "--no-wait", "--no-progress", env=stack.env())
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
