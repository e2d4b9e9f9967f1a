from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from conftest import REDIS_INGEST_URL, celery_on_redis


@pytest.fixture
def ingest_worker():
    """A real worker thread consuming the ingest queue on a real Redis broker."""
    with (
        celery_on_redis(REDIS_INGEST_URL) as app,
        start_worker(
            app,
            pool="threads",
            concurrency=2,
            queues=["ingest"],
            perform_ping_check=False,
            shutdown_timeout=30,
        ) as worker,
    ):
        yield worker
