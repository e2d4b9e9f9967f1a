from __future__ import annotations

import io
import os
import time
import zipfile

import pytest

from articles.inbox import inbox_process
from articles.models import Article, IngestItem, IngestRun
from articles.tasks import ingest_inbox

from .helpers import article_text, sample_folder, wechat_url

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


def test_a_file_a_dead_tick_took_but_never_recorded_is_taken_again_and_ingested_once(tmp_path, settings):
    inbox = tmp_path / "inbox"
    processing = inbox / "processing"
    processing.mkdir(parents=True)
    # A tick renamed this file into processing/ and died before recording it.
    (stranded,) = sample_folder(tmp_path / "elsewhere", count=1)
    stranded.rename(processing / "0a1b2c3d4e5f~1000.md")
    settings.INGEST_INBOX_STRANDED_SECONDS = 0

    assert inbox_process(inbox_dir=inbox) == 0  # nothing new in the inbox itself
    assert [p.name for p in (inbox / "done").iterdir()] == ["1000.md"]
    assert not any(processing.iterdir())
    assert Article.objects.count() == 1 and IngestItem.objects.count() == 1

    inbox_process(inbox_dir=inbox)
    assert Article.objects.count() == 1 and IngestItem.objects.count() == 1


def test_a_file_just_taken_by_a_live_tick_is_not_taken_again(tmp_path, settings):
    inbox = tmp_path / "inbox"
    processing = inbox / "processing"
    processing.mkdir(parents=True)
    (fresh,) = sample_folder(tmp_path / "elsewhere", count=1)
    fresh.rename(processing / "0a1b2c3d4e5f~1000.md")
    settings.INGEST_INBOX_STRANDED_SECONDS = 300

    inbox_process(inbox_dir=inbox)
    assert [p.name for p in processing.iterdir()] == ["0a1b2c3d4e5f~1000.md"]
    assert not IngestItem.objects.exists()


def test_an_archive_dropped_in_the_inbox_moves_to_failed_with_the_reasons_of_its_bad_members(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "good.md", article_text(title="收件箱压缩包", url=wechat_url(61), source="源", body="正文。")
        )
        archive.writestr("bad.md", "不是文章")
    (inbox / "batch.zip").write_bytes(buffer.getvalue())
    _age(inbox / "batch.zip")

    assert inbox_process(inbox_dir=inbox) == 1
    assert Article.objects.count() == 1
    reason = (inbox / "failed" / "batch.zip.reason.txt").read_text(encoding="utf-8")
    assert "batch.zip!bad.md" in reason and "good.md" not in reason
