"""Archives: stored by the upload as they are, unpacked by a worker within limits, every member an item."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from articles.models import Article, IngestItem, IngestRun

from .helpers import article_text, wechat_url

pytestmark = pytest.mark.django_db(transaction=True)

Outcome = IngestItem.Outcome
MB = 1024 * 1024


def bomb(*, members: int = 60, member_bytes: int = int(4.9 * MB)) -> bytes:
    """A small zip whose members each unpack to just under the per-file limit."""
    buffer = io.BytesIO()
    filler = b"\xe6\x95\xb0" * (member_bytes // 3)  # "数" repeated: valid UTF-8 that compresses well
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for n in range(members):
            archive.writestr(f"part-{n:02d}.md", filler)
    return buffer.getvalue()


def small_zip(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(count):
            archive.writestr(
                f"a{n}.md",
                article_text(
                    title=f"压缩包测试第{n}篇", url=wechat_url(900 + n), source="压缩包源", body="正文。"
                ),
            )
    return buffer.getvalue()


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("editor", "editor@example.org", "pw-for-tests-only")
    client.force_login(user)
    return client


def upload(staff_client, name: str, data: bytes) -> IngestRun:
    response = staff_client.post(
        reverse("admin:articles_ingestrun_upload"), {"files": [SimpleUploadedFile(name, data)]}
    )
    assert response.status_code == 302
    return IngestRun.objects.latest("pk")


def step_until_finished(staff_client, run: IngestRun) -> dict:
    step = reverse("admin:articles_ingestrun_step", args=[run.pk])
    for _ in range(20):
        progress = staff_client.post(step).json()
        if progress["finished"]:
            return progress
    raise AssertionError(f"run {run.pk} did not finish: {progress}")


def test_an_archive_that_unpacks_to_hundreds_of_megabytes_is_stored_at_once_and_each_member_reported(
    staff_client,
):
    data = bomb()
    assert len(data) < 1 * MB
    started = time.monotonic()
    run = upload(staff_client, "bomb.zip", data)
    # The request only stored the upload: one item, nothing unpacked.
    assert time.monotonic() - started < 10
    assert list(run.items.values_list("kind", "outcome")) == [("archive", "pending")]

    tracemalloc.start()
    try:
        progress = step_until_finished(staff_client, run)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Nothing was inflated: the limit was read from the archive's own directory.
    assert peak < 50 * MB, f"peak {peak / MB:.0f} MB"
    members = run.items.filter(kind="file")
    assert members.count() == 60 == progress["total"] == progress["failed"]
    assert set(members.values_list("outcome", flat=True)) == {Outcome.FAILED}
    reason = members.first().reason
    assert "压缩包解压后共" in reason and "超过上限" in reason and "请拆成几个较小的压缩包" in reason
    assert not Article.objects.exists()
    page = staff_client.get(reverse("admin:articles_ingestrun_change", args=[run.pk])).content.decode()
    assert "part-59.md" in page


def test_an_archive_with_too_many_members_is_refused_as_a_whole(staff_client, settings):
    settings.INGEST_MAX_ARCHIVE_MEMBERS = 5
    run = upload(staff_client, "many.zip", small_zip(6))
    step_until_finished(staff_client, run)
    archive = run.items.get(kind="archive")
    assert archive.outcome == Outcome.FAILED
    assert "6 个文章文件，超过上限 5 个" in archive.reason
    assert not run.items.filter(kind="file").exists()


def test_an_upload_over_the_size_limit_is_recorded_as_failed_without_being_read(staff_client, settings):
    settings.INGEST_MAX_ARCHIVE_BYTES = 1000
    run = upload(staff_client, "big.zip", small_zip(20))
    item = run.items.get()
    assert item.outcome == Outcome.FAILED and "压缩包过大" in item.reason
    assert bytes(item.raw) == b""


def test_a_good_archive_is_unpacked_into_one_item_per_article_and_ingested(staff_client):
    data = small_zip(3)
    run = upload(staff_client, "good.zip", data)
    progress = step_until_finished(staff_client, run)
    assert (progress["total"], progress["created"]) == (3, 3)
    archive = run.items.get(kind="archive")
    assert archive.outcome == Outcome.EXPANDED and bytes(archive.raw) == data  # the raw input is kept
    assert set(run.items.filter(kind="file").values_list("parent", flat=True)) == {archive.pk}


def test_the_command_applies_the_same_limits_and_gives_every_member_an_item(tmp_path):
    (tmp_path / "bomb.zip").write_bytes(bomb(members=45))
    with pytest.raises(CommandError):
        call_command(
            "ingest",
            str(tmp_path / "bomb.zip"),
            "--sync",
            "--no-progress",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert IngestItem.objects.get(kind="archive").outcome == Outcome.EXPANDED
    items = IngestItem.objects.filter(kind="file")
    assert items.count() == 45
    assert all("超过上限" in reason for reason in items.values_list("reason", flat=True))


@pytest.mark.redis
def test_with_workers_an_uploaded_archive_is_unpacked_and_processed_by_them(staff_client, ingest_worker):
    run = upload(staff_client, "good.zip", small_zip(3))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not run.outcome_counts()["created"] == 3:
        time.sleep(0.2)
    counts = run.outcome_counts()
    assert (counts["total"], counts["created"], counts["pending"]) == (3, 3, 0)
    assert Article.objects.count() == 3
