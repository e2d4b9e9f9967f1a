"""Claims on ingest items: one worker per item, redeliveries take over, dead claims expire."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from articles import ingest, pipeline
from articles.ingest import ingest_item_process, ingest_run_start
from articles.inputs import InputFile
from articles.models import Article, IngestItem, IngestRun

from .helpers import article_text, wechat_url

pytestmark = pytest.mark.django_db

Outcome = IngestItem.Outcome


def _item(n: int = 1) -> IngestItem:
    text = article_text(
        title=f"领取测试第{n}篇", url=wechat_url(700 + n), source="领取测试", body="领取测试正文。"
    )
    source = InputFile(path=f"{n}.md", data=text.encode(), size=len(text))
    run = ingest_run_start(trigger=IngestRun.Trigger.COMMAND, sources=[source], paths=["test"])
    return run.items.get()


def test_two_workers_cannot_claim_one_item():
    item = _item()
    assert pipeline.ingest_item_claim(item_id=item.pk, token="a", worker="w1/1")
    assert not pipeline.ingest_item_claim(item_id=item.pk, token="b", worker="w2/2")
    item.refresh_from_db()
    assert (item.claim_token, item.claimed_by, item.attempts) == ("a", "w1/1", 1)


def test_a_redelivered_message_takes_over_the_claim_its_first_delivery_left():
    item = _item()
    assert pipeline.ingest_item_claim(item_id=item.pk, token="task-1", worker="w1/1")
    # The process died; the broker hands the same message (same task id) to another process.
    assert pipeline.ingest_item_claim(item_id=item.pk, token="task-1", worker="w1/2")
    item.refresh_from_db()
    assert (item.claimed_by, item.attempts) == ("w1/2", 2)


def test_an_expired_claim_can_be_taken_by_anyone():
    item = _item()
    assert pipeline.ingest_item_claim(item_id=item.pk, token="a", worker="w1/1")
    IngestItem.objects.filter(pk=item.pk).update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    assert pipeline.ingest_item_claim(item_id=item.pk, token="b", worker="w2/1")


def test_a_finished_item_is_never_claimed_again():
    item = _item()
    assert ingest_item_process(item_id=item.pk) == Outcome.CREATED
    assert not pipeline.ingest_item_claim(item_id=item.pk, token="late", worker="w9/9")
    assert ingest_item_process(item_id=item.pk) == Outcome.CREATED  # reports, does nothing
    assert IngestItem.objects.get(pk=item.pk).attempts == 1
    assert Article.objects.count() == 1


def test_an_item_claimed_by_another_live_worker_is_left_alone():
    item = _item()
    assert pipeline.ingest_item_claim(item_id=item.pk, token="theirs", worker="w1/1")
    assert ingest_item_process(item_id=item.pk, token="mine") == "claimed"
    assert not Article.objects.exists()


def test_a_worker_whose_claim_passed_to_another_writes_nothing(monkeypatch):
    item = _item()
    upsert = ingest.article_upsert

    def upsert_while_the_claim_is_taken(**kwargs):
        result = upsert(**kwargs)
        # Meanwhile this worker's lease ran out and another worker claimed the item.
        IngestItem.objects.filter(pk=item.pk).update(claim_token="other")
        return result

    monkeypatch.setattr(ingest, "article_upsert", upsert_while_the_claim_is_taken)
    assert ingest_item_process(item_id=item.pk, token="mine") == "claimed"
    assert not Article.objects.exists()  # the article written under the lost claim was rolled back
    assert IngestItem.objects.get(pk=item.pk).outcome == Outcome.PENDING


def test_a_file_whose_processing_keeps_killing_its_worker_ends_failed_with_a_reason(settings):
    item = _item()
    IngestItem.objects.filter(pk=item.pk).update(attempts=settings.INGEST_MAX_ATTEMPTS)
    assert ingest_item_process(item_id=item.pk) == Outcome.FAILED
    item.refresh_from_db()
    assert "处理进程每次都意外退出" in item.reason
    assert not Article.objects.exists()
    # The editor can still retry it once the cause is fixed: the bytes are kept.
    assert ingest.ingest_items_reset(item_ids=[item.pk]) == [item.pk]
    assert ingest_item_process(item_id=item.pk) == Outcome.CREATED


def test_a_restarted_worker_releases_only_the_claims_its_predecessor_took():
    old, new, other = _item(1), _item(2), _item(3)
    assert pipeline.ingest_item_claim(item_id=old.pk, token="t1", worker="ingest@host/100")
    assert pipeline.ingest_item_claim(item_id=other.pk, token="t3", worker="ingest@host2/100")
    started = timezone.now()
    assert pipeline.ingest_item_claim(item_id=new.pk, token="t2", worker="ingest@host/200")
    assert pipeline.ingest_claims_release(worker_prefix="ingest@host/", claimed_before=started) == 1
    claims = dict(IngestItem.objects.values_list("pk", "claim_token"))
    assert claims == {old.pk: "", new.pk: "t2", other.pk: "t3"}
