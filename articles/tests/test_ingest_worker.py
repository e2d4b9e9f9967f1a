from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from articles.models import Article, IngestItem, IngestRun

from .helpers import sample_folder

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


def test_a_folder_is_ingested_through_redis_by_a_real_worker(tmp_path, ingest_worker):
    sample_folder(tmp_path, count=5)
    (tmp_path / "broken.md").write_text("没有头信息的文件\n", encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(Exception) as failure:
        call_command(
            "ingest", str(tmp_path), "--no-progress", "--timeout", "60", stdout=out, stderr=io.StringIO()
        )
    assert "1 个文件导入失败" in str(failure.value)
    assert "已将 6 个文件加入 ingest 队列" in out.getvalue()
    assert Article.objects.count() == 5
    run = IngestRun.objects.get()
    counts = run.outcome_counts()
    assert (counts["created"], counts["failed"], counts["pending"]) == (5, 1, 0)
    # Each item was processed exactly once even though acks are late.
    assert set(IngestItem.objects.values_list("attempts", flat=True)) == {1}
