from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from articles.models import Article, IngestItem, IngestRun

from .helpers import article_text, sample_folder, wechat_url, write_article

pytestmark = pytest.mark.django_db(transaction=True)


def run_ingest(*paths: Path | str) -> tuple[str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("ingest", *map(str, paths), "--sync", "--no-progress", stdout=out, stderr=err)
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return out.getvalue(), err.getvalue(), code


def test_it_creates_one_article_per_file_with_title_source_date_and_author(tmp_path):
    sample_folder(tmp_path, count=3)
    out, _, code = run_ingest(tmp_path)
    assert code == 0
    assert "新建 3" in out
    article = Article.objects.get(title="测试稿0：数据要素市场建设的新进展")
    assert article.source.name == "测试政策观察"
    assert article.published_on.isoformat() == "2024-01-10"
    assert [a.name for a in article.authors.all()] == ["测试作者0"]
    assert article.raw_text.startswith("---\ntitle: 测试稿0")
    assert "预览时标签不可点" not in article.body_markdown
    assert "**加强**统筹协调" in article.body_markdown


def test_running_it_twice_creates_nothing_new(tmp_path):
    sample_folder(tmp_path, count=4)
    run_ingest(tmp_path)
    out, _, code = run_ingest(tmp_path)
    assert code == 0
    assert "新建 0" in out and "未变化 4" in out
    assert Article.objects.count() == 4


def test_a_changed_file_updates_its_article_and_keeps_curation(tmp_path):
    (path,) = sample_folder(tmp_path, count=1)
    run_ingest(tmp_path)
    article = Article.objects.get()
    Article.objects.filter(pk=article.pk).update(status="hidden", featured=True)
    path.write_text(
        path.read_text(encoding="utf-8").replace("第0项工作安排", "第0项工作安排（修订）"), encoding="utf-8"
    )
    out, _, _ = run_ingest(path)
    assert "更新 1" in out
    article.refresh_from_db()
    assert "修订" in article.body_text
    assert (article.status, article.featured) == ("hidden", True)


def test_the_same_article_crawled_twice_with_other_tracking_params_is_one_article(tmp_path):
    first = wechat_url(7)
    second = first.replace("scene=58", "scene=21").replace("chksm=ff", "chksm=ee")
    body = "同一篇文章被抓取了两次，链接里的跟踪参数不同。"
    write_article(tmp_path, "a.md", title="重复抓取", url=first, source="测试源", body=body)
    write_article(
        tmp_path,
        "b.md",
        title="重复抓取",
        url=second,
        source="测试源",
        body=body,
        fetch_date="2025-11-01T00:00:00",
    )
    out, _, _ = run_ingest(tmp_path)
    assert Article.objects.count() == 1
    assert "新建 1" in out and "更新 1" in out


def test_a_broken_file_is_recorded_with_its_reason_and_the_batch_goes_on(tmp_path):
    sample_folder(tmp_path, count=2)
    (tmp_path / "notes.md").write_text("这只是一份说明，不是文章。\n", encoding="utf-8")
    (tmp_path / "empty.md").write_text(
        "---\ntitle: 空文章\nurl: https://example.com/a\nsource: 测试\n---\n\n", encoding="utf-8"
    )
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02PK\x00garbage")
    out, err, code = run_ingest(tmp_path)
    assert code == 1
    assert Article.objects.count() == 2
    failed = IngestItem.objects.filter(outcome="failed")
    assert {Path(i.path).name for i in failed} == {"notes.md", "empty.md", "binary.md"}
    assert all(item.reason for item in failed)
    # The raw bytes of a failed file are kept so it can be fixed and reprocessed.
    assert bytes(failed.get(path__endswith="binary.md").raw).startswith(b"\x00\x01")
    assert "notes.md" in err and "失败 3" in out


def test_a_failed_file_does_not_damage_the_stored_article(tmp_path):
    (path,) = sample_folder(tmp_path, count=1)
    run_ingest(path)
    before = Article.objects.get()
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("---", 4) + 3] + "\n\n", encoding="utf-8")
    _, _, code = run_ingest(path)
    assert code == 1
    after = Article.objects.get()
    assert (after.body_markdown, after.content_hash) == (before.body_markdown, before.content_hash)


def test_it_reads_zip_archives_and_gb18030_files(tmp_path):
    gb = article_text(
        title="编码测试：国标文件",
        url="https://www.example.com/news/1.html?utm_source=x",
        source="测试新闻网",
        body="这篇文章以 GB18030 编码保存，内容需要正确解码。",
    ).encode("gb18030")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("batch/gb.md", gb)
        archive.writestr("batch/readme.txt", "ignored")
    (tmp_path / "batch.zip").write_bytes(buffer.getvalue())
    out, _, code = run_ingest(tmp_path / "batch.zip")
    assert code == 0, out
    article = Article.objects.get()
    assert article.title == "编码测试：国标文件"
    assert article.canonical_url == "https://www.example.com/news/1.html"
    assert IngestItem.objects.get(kind="file").path.endswith("batch.zip!batch/gb.md")


def test_a_missing_path_and_a_bad_zip_are_failures_not_crashes(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"not a zip at all")
    _, _, code = run_ingest(tmp_path / "nope.md", tmp_path / "bad.zip")
    assert code == 1
    reasons = dict(IngestItem.objects.values_list("path", "reason"))
    assert "路径不存在" in reasons[str(tmp_path / "nope.md")]
    assert "zip" in reasons[str(tmp_path / "bad.zip")]


def test_files_over_the_size_limit_fail_without_being_parsed(tmp_path, settings):
    settings.INGEST_MAX_FILE_BYTES = 2000
    write_article(tmp_path, "huge.md", title="很长", url=wechat_url(1), source="测试", body="长" * 3000)
    _, _, code = run_ingest(tmp_path)
    assert code == 1
    item = IngestItem.objects.get()
    assert "文件过大" in item.reason and bytes(item.raw) == b""


def test_every_run_records_its_paths_and_counts(tmp_path):
    sample_folder(tmp_path, count=2)
    run_ingest(tmp_path)
    run = IngestRun.objects.get()
    assert run.paths == [str(tmp_path)]
    counts = run.outcome_counts()
    assert (counts["total"], counts["created"], counts["pending"]) == (2, 2, 0)
    assert run.is_finished


def test_it_shows_a_progress_bar_while_ingesting(tmp_path):
    sample_folder(tmp_path, count=3)
    err = io.StringIO()
    call_command("ingest", str(tmp_path), "--sync", stdout=io.StringIO(), stderr=err)
    assert "导入" in err.getvalue() and "3/3" in err.getvalue()
