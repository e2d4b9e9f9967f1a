"""Another writer holds the Whoosh index for a minute: indexing waits and retries, nothing is lost."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from haystack import connections
from whoosh import index as whoosh_index

from articles.tests.factories import article_make
from search.models import IndexChange
from search.tests.index_state import indexed_ids

from .stack import wait_for

pytestmark = [pytest.mark.faults]

HOLD_SECONDS = 60


def test_a_writer_held_for_a_minute_delays_indexing_but_loses_nothing(faults):
    backend = connections["default"].get_backend()
    backend.setup()  # the index exists before anyone holds its lock
    faults.stack.extra_env["SEARCH_WRITER_LOCK_SECONDS"] = "15"
    faults.redis.start()
    worker = faults.stack.worker(name="index", queue="index", concurrency=1)

    holder = whoosh_index.open_dir(str(settings.SEARCH_INDEX_DIR)).writer()
    try:
        articles = [
            article_make(title=f"锁等待测试第{n}篇：澄江算力中心", body="澄江算力中心启用。")
            for n in range(5)
        ]
        ids = {a.id for a in articles}
        held_until = time.monotonic() + HOLD_SECONDS
        # The worker waits 15 s for the lock, gives up, retries later: the marks stay meanwhile.
        assert wait_for(lambda: "index busy" in faults.stack.log(worker), timeout=HOLD_SECONDS - 5)
        assert not ids & indexed_ids()
        assert set(IndexChange.objects.values_list("article_id", flat=True)) == ids
        time.sleep(max(held_until - time.monotonic(), 0))
        assert not ids & indexed_ids()
    finally:
        holder.cancel()  # releases the lock

    assert wait_for(lambda: ids <= indexed_ids(), timeout=150, interval=0.5), faults.stack.log(worker)[-3000:]
    assert wait_for(lambda: not IndexChange.objects.exists(), timeout=10)
