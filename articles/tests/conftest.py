from __future__ import annotations

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from conftest import REDIS_TEST_URL
from portal.celery import app as celery_app


@pytest.fixture
def redis_celery_app():
    """The project's Celery app pointed at a private Redis database, tasks no longer inline."""
    try:
        client = redis.Redis.from_url(REDIS_TEST_URL)
        client.ping()
    except redis.ConnectionError as exc:  # pragma: no cover - CI starts Redis
        pytest.fail(f"Redis is required for this test at {REDIS_TEST_URL}: {exc}")
    client.flushdb()
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    celery_app.conf.update(broker_url=REDIS_TEST_URL, task_always_eager=False)
    try:
        yield celery_app
    finally:
        celery_app.conf.update(saved)
        client.flushdb()


@pytest.fixture
def ingest_worker(redis_celery_app):
    with start_worker(
        redis_celery_app,
        pool="threads",
        concurrency=2,
        queues=["ingest"],
        perform_ping_check=False,
        shutdown_timeout=30,
    ) as worker:
        yield worker
