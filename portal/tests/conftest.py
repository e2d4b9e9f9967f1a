from __future__ import annotations

import io
import os
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from haystack import connections

from articles.models import Article, IngestItem
from conftest import celery_broker
from search.models import IndexChange

from .stack import RedisServer, Stack, children_of, stack_running, wait_for

Outcome = IngestItem.Outcome


@dataclass
class Faults:
    redis: RedisServer
    stack: Stack
    workdir: Path

    # --- what the database says -----------------------------------------------------------
    @staticmethod
    def done() -> int:
        return IngestItem.objects.exclude(outcome=Outcome.PENDING).count()

    @staticmethod
    def pending() -> int:
        return IngestItem.objects.filter(outcome=Outcome.PENDING).count()

    @staticmethod
    def settled() -> bool:
        """Nothing left to do: no pending item, no article waiting for the index."""
        return (
            not IngestItem.objects.filter(outcome=Outcome.PENDING).exists()
            and not IndexChange.objects.exists()
        )

    @staticmethod
    def stranded() -> list[int]:
        """Pending items whose live-looking claim belongs to a process that no longer exists."""
        stranded = []
        for pk, holder in IngestItem.objects.filter(
            outcome=Outcome.PENDING, claimed_until__isnull=False
        ).values_list("pk", "claimed_by"):
            pid = int(holder.rsplit("/", 1)[-1])
            if not Path(f"/proc/{pid}").exists():
                stranded.append(pk)
        return stranded

    def wait_settled(self, *, timeout: float) -> None:
        if not wait_for(self.settled, timeout=timeout, interval=0.5):
            pending = list(
                IngestItem.objects.filter(outcome=Outcome.PENDING).values_list(
                    "pk", "attempts", "claimed_by", "claimed_until", "queued_at"
                )[:10]
            )
            raise AssertionError(
                f"not settled after {timeout:.0f} s: {self.pending()} items pending {pending}, "
                f"{IndexChange.objects.count()} index changes; worker logs in {self.workdir}"
            )


def search_check_output() -> str:
    out = io.StringIO()
    call_command("search_check", stdout=out)
    return out.getvalue()


def assert_index_in_step() -> None:
    report = search_check_output()
    assert re.search(r"缺失 0，过期 0，多余 0", report), report
    published = set(Article.objects.filter(status=Article.Status.PUBLISHED).values_list("pk", flat=True))
    assert set(connections["default"].get_backend().indexed_documents()) == published


def assert_each_file_processed_once(*, files: int) -> None:
    """Every file is one item, created once: a second processing would have said "unchanged"."""
    items = IngestItem.objects.filter(kind=IngestItem.Kind.FILE)
    assert items.count() == files
    outcomes = sorted(set(items.values_list("outcome", flat=True)))
    assert outcomes == [Outcome.CREATED], outcomes
    assert Article.objects.count() == files
    assert items.values("article").distinct().count() == files


@pytest.fixture
def faults(transactional_db, tmp_path) -> Iterator[Faults]:
    if connection.vendor != "postgresql":
        pytest.skip(
            "fault tests run in the PostgreSQL pass (make test-postgres), where workers share the database"
        )
    backend = connections["default"].get_backend()
    backend.clear()
    redis_server = RedisServer(tmp_path / "redis")
    try:
        with (
            stack_running(redis_server=redis_server, workdir=tmp_path) as stack,
            celery_broker(redis_server.url),
        ):
            yield Faults(redis=redis_server, stack=stack, workdir=tmp_path)
    finally:
        redis_server.kill()
        backend.clear()


def kill_pool_children_every_second(*, worker, until, timeout: float) -> list[int]:
    """SIGKILL one pool process of ``worker`` a second until ``until()``; returns the pids killed."""
    killed: list[int] = []
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        children = children_of(worker.pid)
        if children:
            victim = children[len(killed) % len(children)]
            try:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            except ProcessLookupError:
                pass
        time.sleep(1.0)
    return killed
