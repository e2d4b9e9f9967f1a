from __future__ import annotations

import os
import time

import pytest

from articles.inbox import inbox_process
from articles.models import Article, IngestRun
from articles.tasks import ingest_inbox

from .helpers import sample_folder

pytestmark = pytest.mark.django_db(transaction=True)


def _age(path, seconds=60):
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_files_dropped_in_the_inbox_are_ingested_and_moved_to_done_or_failed(tmp_path):
    inbox = tmp_path / "inbox"
    for path in sample_folder(inbox, count=2):
        _age(path)
    bad = inbox / "bad.md"
    bad.write_text("随手记的笔记，不是文章", encoding="utf-8")
    _age(bad)

    assert inbox_process(inbox_dir=inbox) == 3

    assert Article.objects.count() == 2
    assert sorted(p.name for p in (inbox / "done").iterdir()) == ["1000.md", "1001.md"]
    failed = sorted(p.name for p in (inbox / "failed").iterdir())
    assert failed == ["bad.md", "bad.md.reason.txt"]
    assert "bad.md" in (inbox / "failed" / "bad.md.reason.txt").read_text(encoding="utf-8")
    assert not any((inbox / "processing").iterdir())
    assert IngestRun.objects.get().trigger == "inbox"


def test_a_file_still_being_written_waits_for_the_next_tick(tmp_path):
    inbox = tmp_path / "inbox"
    sample_folder(inbox, count=1)
    assert inbox_process(inbox_dir=inbox) == 0
    assert (inbox / "1000.md").exists()


def test_an_empty_inbox_does_nothing(tmp_path):
    assert inbox_process(inbox_dir=tmp_path / "inbox") == 0
    assert not IngestRun.objects.exists()


def test_the_beat_task_reads_the_configured_inbox(tmp_path, settings):
    settings.INGEST_INBOX_DIR = tmp_path / "inbox"
    for path in sample_folder(settings.INGEST_INBOX_DIR, count=1):
        _age(path)
    assert ingest_inbox.delay().get() == 1
    assert Article.objects.count() == 1


def test_the_beat_schedule_runs_the_inbox_job(settings):
    from portal.celery import app

    entry = app.conf.beat_schedule["ingest-inbox"]
    assert entry["task"] == ingest_inbox.name
