"""Wake-ups and the sweep against a real broker, and what a user sees when the broker is down."""

from __future__ import annotations

import base64
import datetime
import io
import json
from unittest import mock

import pytest
import redis
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from articles import ingest, pipeline
from articles.inputs import inputs_from_paths
from articles.models import Article, IngestItem, IngestRun
from conftest import REDIS_INGEST_URL, celery_broker, celery_on_redis, dead_broker_url

from .helpers import article_text, sample_folder, wechat_url

pytestmark = pytest.mark.django_db(transaction=True)

Outcome = IngestItem.Outcome
BROKER_DOWN = "消息队列（Redis）暂时无法连接"


def _queued_batches(client: redis.Redis) -> list[list[int]]:
    # The Redis transport keeps a queue as a list of JSON envelopes; kwargs are in the body.
    batches = []
    for raw in client.lrange("ingest", 0, -1):
        envelope = json.loads(raw)
        kwargs = json.loads(base64.b64decode(envelope["body"]))[1]
        batches.append([kwargs["item_id"], *kwargs.get("batch", [])])
    return sorted(batches)


def _queued_item_ids(client: redis.Redis) -> list[int]:
    return sorted(i for batch in _queued_batches(client) for i in batch)


def _items(tmp_path, count: int) -> list[int]:
    sample_folder(tmp_path, count=count)
    with celery_broker(dead_broker_url()):
        call_command("ingest", str(tmp_path), "--no-wait", "--no-progress", stdout=io.StringIO())
    return sorted(IngestItem.objects.values_list("pk", flat=True))


# --- broker down -------------------------------------------------------------------------------


def test_with_the_broker_down_ingest_records_everything_and_says_so_in_one_line(tmp_path):
    sample_folder(tmp_path, count=3)
    out = io.StringIO()
    with celery_broker(dead_broker_url()):
        call_command("ingest", str(tmp_path), "--no-wait", "--no-progress", stdout=out, stderr=io.StringIO())
    assert BROKER_DOWN in out.getvalue() and "--sync" in out.getvalue()
    pending = IngestItem.objects.filter(outcome=Outcome.PENDING)
    assert pending.count() == 3 and not pending.filter(queued_at__isnull=False).exists()


def test_with_the_broker_down_an_ingest_that_waits_fails_with_the_same_line(tmp_path):
    sample_folder(tmp_path, count=2)
    with celery_broker(dead_broker_url()), pytest.raises(CommandError) as failure:
        call_command("ingest", str(tmp_path), "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert failure.value.returncode == 1
    assert BROKER_DOWN in str(failure.value)
    assert IngestItem.objects.filter(outcome=Outcome.PENDING).count() == 2


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("editor", "editor@example.org", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_with_the_broker_down_an_upload_is_stored_and_the_editor_is_told(staff_client):
    text = article_text(title="断线上传", url=wechat_url(801), source="上传源", body="断线时上传的正文。")
    with celery_broker(dead_broker_url()):
        response = staff_client.post(
            reverse("admin:articles_ingestrun_upload"),
            {"files": [SimpleUploadedFile("a.md", text.encode())]},
            follow=True,
        )
    assert response.status_code == 200
    assert "消息队列暂时无法连接" in response.content.decode()
    assert IngestItem.objects.get().outcome == Outcome.PENDING


def test_with_the_broker_down_retry_and_reclean_answer_with_a_message_not_an_error(staff_client, tmp_path):
    sample_folder(tmp_path, count=1)
    call_command("ingest", str(tmp_path), "--sync", "--no-progress", stdout=io.StringIO())
    article = Article.objects.get()
    item = IngestItem.objects.get()
    IngestItem.objects.filter(pk=item.pk).update(outcome=Outcome.FAILED)
    with celery_broker(dead_broker_url()):
        retried = staff_client.post(
            reverse("admin:articles_ingestitem_changelist"),
            {"action": "retry", "_selected_action": [item.pk]},
            follow=True,
        )
        recleaned = staff_client.post(
            reverse("admin:articles_article_changelist"),
            {"action": "reclean", "_selected_action": [article.pk]},
            follow=True,
        )
    assert retried.status_code == 200 and "队列恢复后自动处理" in retried.content.decode()
    assert recleaned.status_code == 200 and "消息队列暂时无法连接" in recleaned.content.decode()
    assert IngestItem.objects.get().outcome == Outcome.PENDING


# --- the sweep, on a real Redis ------------------------------------------------------------------


@pytest.mark.redis
def test_the_sweep_sends_what_was_never_queued_and_what_a_dead_claim_holds(tmp_path):
    never, expired, live, waiting = _items(tmp_path, 4)
    past = timezone.now() - datetime.timedelta(seconds=1)
    IngestItem.objects.filter(pk=expired).update(claim_token="x", claimed_by="w/1", claimed_until=past)
    assert pipeline.ingest_item_claim(item_id=live, token="y", worker="w/2")
    IngestItem.objects.filter(pk=waiting).update(queued_at=timezone.now())
    with celery_on_redis(REDIS_INGEST_URL):
        client = redis.Redis.from_url(REDIS_INGEST_URL)
        # The queue is empty, so the item that was queued lost its message: it is sent too.
        assert pipeline.ingest_sweep() == {"requeued": 3, "unsent": 0}
        assert _queued_item_ids(client) == [never, expired, waiting]
        assert list(IngestItem.objects.filter(queued_at__isnull=True).values_list("pk", flat=True)) == [live]
        # Now wake-ups are waiting in the queue: only dead claims would be sent again.
        assert pipeline.ingest_sweep() == {"requeued": 1, "unsent": 0}
        assert _queued_item_ids(client) == [never, expired, expired, waiting]


@pytest.mark.redis
def test_the_sweep_with_the_broker_down_sends_nothing_and_loses_nothing(tmp_path):
    ids = _items(tmp_path, 2)
    with celery_broker(dead_broker_url()):
        assert pipeline.ingest_sweep() == {"requeued": 0, "unsent": 2}
    assert IngestItem.objects.filter(pk__in=ids, outcome=Outcome.PENDING, queued_at__isnull=True).count() == 2
    with celery_on_redis(REDIS_INGEST_URL):
        assert pipeline.ingest_sweep() == {"requeued": 2, "unsent": 0}


@pytest.mark.redis
def test_a_wake_up_names_a_batch_of_items_and_every_item_is_in_exactly_one(tmp_path):
    ids = _items(tmp_path, 45)
    with celery_on_redis(REDIS_INGEST_URL), override_settings(INGEST_BATCH_FILES=10):
        client = redis.Redis.from_url(REDIS_INGEST_URL)
        assert pipeline.ingest_items_wake(item_ids=reversed(ids)).sent == 45
        batches = _queued_batches(client)
    assert [len(b) for b in batches] == [10, 10, 10, 10, 5]
    assert sorted(i for b in batches for i in b) == ids
    assert all(b == sorted(b) for b in batches)
    assert not IngestItem.objects.filter(queued_at__isnull=True).exists()


def test_a_few_items_are_spread_over_up_to_four_wake_ups():
    assert pipeline.wake_batches([5, 1, 3], size=50) == [[1], [3], [5]]
    assert [len(b) for b in pipeline.wake_batches(range(30), size=50)] == [8, 8, 8, 6]
    assert [len(b) for b in pipeline.wake_batches(range(2000), size=50)] == [50] * 40
    assert pipeline.wake_batches([], size=50) == []


@pytest.mark.redis
def test_ingest_wakes_workers_while_it_is_still_reading_the_folder(tmp_path):
    sample_folder(tmp_path, count=12)
    queued_when_read: list[int] = []
    with celery_on_redis(REDIS_INGEST_URL), mock.patch.object(ingest, "RECORD_BATCH_ITEMS", 5):
        client = redis.Redis.from_url(REDIS_INGEST_URL)
        run = ingest.ingest_run_start(
            trigger=IngestRun.Trigger.COMMAND,
            sources=inputs_from_paths(paths=[tmp_path]),
            paths=[str(tmp_path)],
            on_item=lambda: queued_when_read.append(len(_queued_item_ids(client))),
            wake=True,
        )
        # items 1-5 were woken as soon as they were recorded, before file 6 was read
        assert queued_when_read == [0] * 5 + [5] * 5 + [10, 10]
        assert len(_queued_item_ids(client)) == 12
        # nothing is left for the dispatch after it: every item is on its way once
        assert ingest.ingest_run_dispatch(run=run).sent == 0
        assert len(_queued_item_ids(client)) == 12


def test_pipeline_status_counts_pending_claimed_and_failed_and_says_how_old(tmp_path, staff_client):
    ids = _items(tmp_path, 3)
    assert pipeline.ingest_item_claim(item_id=ids[0], token="t", worker="w/1")
    IngestItem.objects.filter(pk=ids[1]).update(outcome=Outcome.FAILED)
    IngestItem.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    out = io.StringIO()
    call_command("pipeline_status", stdout=out)
    report = out.getvalue()
    assert "待处理 2（等待 1，处理中 1" in report and "失败 1" in report
    assert "最早一项已等待 5 分钟" in report
    as_json = io.StringIO()
    call_command("pipeline_status", "--json", stdout=as_json)
    status = json.loads(as_json.getvalue())
    assert (status["ingest"]["pending"], status["ingest"]["claimed"], status["ingest"]["failed"]) == (2, 1, 1)
    assert IngestRun.objects.count() == 1
    # The same counts head the ingest runs' list in the admin.
    page = staff_client.get(reverse("admin:articles_ingestrun_changelist")).content.decode()
    assert "后台处理：待处理 2 个（处理中 1" in page and "最早一项已等待 5 分钟" in page
