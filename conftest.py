from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CORPUS_DIR = Path(
    os.environ.get("PORTAL_CORPUS_DIR", Path(__file__).resolve().parent.parent / "shared" / "corpus")
)
POLICY_CORPUS_DIR = Path(
    os.environ.get(
        "PORTAL_POLICY_CORPUS_DIR", Path(__file__).resolve().parent.parent / "shared" / "corpus-policy"
    )
)
# Private Redis databases so parallel runs of other projects on the same server don't collide.
REDIS_INGEST_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
REDIS_INDEX_URL = os.environ.get("PORTAL_TEST_INDEX_REDIS_URL", "redis://127.0.0.1:6379/12")


def dead_broker_url() -> str:
    """A Redis URL on a loopback port nothing listens on: every connection is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir() or not any(CORPUS_DIR.glob("*.md")):
        pytest.skip(f"real corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR


@pytest.fixture(scope="session")
def policy_corpus_dir() -> Path:
    if not POLICY_CORPUS_DIR.is_dir() or not any(POLICY_CORPUS_DIR.glob("*.md")):
        pytest.skip(f"real policy corpus not found at {POLICY_CORPUS_DIR}")
    return POLICY_CORPUS_DIR


@contextmanager
def celery_broker(url: str) -> Iterator:
    """The project's Celery app sending to the broker at ``url`` instead of running tasks inline."""
    from portal.celery import app

    saved = {key: app.conf.get(key) for key in ("broker_url", "task_always_eager")}

    def pools_reset() -> None:
        # Connection and producer pools are cached for the broker URL they were built with.
        app._pool = None
        app.amqp._producer_pool = None

    app.conf.update(broker_url=url, task_always_eager=False)
    pools_reset()
    try:
        yield app
    finally:
        app.conf.update(saved)
        pools_reset()


@contextmanager
def celery_on_redis(url: str) -> Iterator:
    """``celery_broker`` on a Redis database that must answer, emptied before and after."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is required for this test at {url}: {exc}")
    client.flushdb()
    try:
        with celery_broker(url) as app:
            yield app
    finally:
        client.flushdb()
