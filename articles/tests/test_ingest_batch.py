"""Ingest in batches: article files drafted one by one, new articles written together.

A batch must store exactly what file-by-file ingest stores (rows, authors, policy mentions,
stories, item outcomes), and keep its guarantees when another worker gets in its way.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import threading
import traceback
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.test import override_settings

from articles import ingest, pipeline, policy
from articles.inputs import InputFile
from articles.models import Article, IngestItem, IngestRun, PolicyDocument, PolicyMention, Story
from articles.policy import policy_seeds_apply
from articles.signals import changes_batched

from .factories import article_make
from .helpers import article_text, sample_folder, wechat_url, write_article

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURES = Path(__file__).parent / "fixtures"
Outcome = IngestItem.Outcome


def _ingest(folder: Path, *, batch: int) -> None:
    with override_settings(INGEST_BATCH_FILES=batch), contextlib.suppress(CommandError):
        # (the command ends with an error status when a file failed: some here do)
        call_command(
            "ingest", str(folder), "--sync", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO()
        )


def _state() -> dict:
    """What ingest stored, keyed by what does not depend on the order rows were written in."""
    articles = {}
    for a in Article.objects.select_related("source").prefetch_related(
        "authors", "policy_mentions__document"
    ):
        articles[a.url_key] = (
            a.title,
            a.source.name,
            a.body_text,
            a.summary,
            a.keywords,
            a.body_terms,
            bytes(a.minhash),
            sorted(x.name for x in a.authors.all()),
            sorted((m.document.name, m.raw) for m in a.policy_mentions.all()),
        )
    stories = {}
    for key, story_id in Article.objects.exclude(story=None).values_list("url_key", "story_id"):
        stories.setdefault(story_id, set()).add(key)
    items = sorted(IngestItem.objects.values_list("path", "outcome", "reason"))
    return {"articles": articles, "stories": sorted(sorted(s) for s in stories.values()), "items": items}


def _forget_everything() -> None:
    Article.objects.all().delete()
    Story.objects.all().delete()
    PolicyDocument.objects.all().delete()
    policy_seeds_apply()  # the seeded records, as a fresh database has them
    IngestRun.objects.all().delete()


def _mixed_folder(tmp_path: Path) -> Path:
    """Files of every kind a batch meets: reposts, authors, policy mentions, a second file of
    one article (an older crawl), a file that is nothing but boilerplate, a broken file."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    sample_folder(folder, count=6)
    for path in (FIXTURES / "reposts").glob("*.md"):
        shutil.copy(path, folder / f"repost-{path.name}")
    shutil.copy(FIXTURES / "broken_missing_title.md", folder / "z-broken.md")
    shutil.copy(FIXTURES / "broken_empty_body.md", folder / "z-empty.md")
    body = "《数据安全管理办法》（国办发〔2099〕7号）印发后，各地陆续出台配套细则。" * 3
    fields = {"title": "配套细则陆续出台", "url": wechat_url(7001), "source": "测试观察", "body": body}
    write_article(folder, "y-newer.md", **fields, fetch_date="2025-10-07T10:00:00")
    write_article(folder, "y-older.md", **fields, fetch_date="2025-10-01T10:00:00")
    return folder


def test_a_batch_stores_exactly_what_file_by_file_ingest_stores(tmp_path):
    folder = _mixed_folder(tmp_path)
    _ingest(folder, batch=1)
    one_by_one = _state()
    _forget_everything()
    _ingest(folder, batch=50)
    batched = _state()
    assert batched == one_by_one
    outcomes = {outcome for _path, outcome, _reason in batched["items"]}
    assert outcomes == {Outcome.CREATED, Outcome.UNCHANGED, Outcome.FAILED}
    assert len(batched["stories"]) >= 1  # the reposts were grouped in the batch too
    assert any(mentions for *_rest, mentions in batched["articles"].values())


def test_a_batch_over_the_real_corpus_stores_what_file_by_file_ingest_stores(tmp_path, corpus_dir):
    folder = tmp_path / "real"
    folder.mkdir()
    for path in sorted(corpus_dir.glob("*.md"))[:90]:
        shutil.copy(path, folder / path.name)
    _ingest(folder, batch=1)
    one_by_one = _state()
    _forget_everything()
    _ingest(folder, batch=50)
    assert _state() == one_by_one
    assert Article.objects.count() > 80


def _run_with_files(tmp_path: Path, texts: dict[str, str]) -> list[int]:
    sources = [InputFile(path=name, size=len(t.encode()), data=t.encode()) for name, t in texts.items()]
    run = ingest.ingest_run_start(trigger="command", sources=sources, paths=[str(tmp_path)])
    return list(run.items.order_by("id").values_list("id", flat=True))


def _texts(count: int) -> dict[str, str]:
    return {
        f"{n}.md": article_text(
            title=f"批量写入测试第{n}篇",
            url=f"https://example.org/batch/{n}",
            source="批量测试",
            body=f"第{n}篇正文，讲数据出境安全评估。" * 4,
        )
        for n in range(count)
    }


def test_an_article_stored_meanwhile_sends_the_batch_file_by_file(tmp_path, monkeypatch):
    item_ids = _run_with_files(tmp_path, _texts(4))
    # Another worker stores the third file's article between the batch's look-up and its
    # insert: the look-up is made to miss it, so the bulk insert meets the unique key.
    ingest.ingest_item_process(item_id=item_ids[2], inline=True)
    monkeypatch.setattr(ingest, "articles_stored", lambda *, url_keys: set())
    outcomes = ingest.ingest_items_process_batch(item_ids=item_ids)
    assert outcomes == {
        item_ids[0]: Outcome.CREATED,
        item_ids[1]: Outcome.CREATED,
        item_ids[3]: Outcome.CREATED,
    }
    assert Article.objects.count() == 4
    assert not IngestItem.objects.filter(outcome=Outcome.PENDING).exists()


def test_a_batch_whose_claims_passed_to_another_worker_writes_nothing(tmp_path, monkeypatch):
    item_ids = _run_with_files(tmp_path, _texts(3))
    create = ingest.articles_create_batch

    def claims_taken_over_then_create(**kwargs):
        # the lease ran out while this worker drafted: another delivery took the items over
        IngestItem.objects.filter(pk__in=item_ids).update(claim_token="someone-else")
        return create(**kwargs)

    monkeypatch.setattr(ingest, "articles_create_batch", claims_taken_over_then_create)
    outcomes = ingest.ingest_items_process_batch(item_ids=item_ids)
    assert set(outcomes.values()) == {"claimed"}
    assert Article.objects.count() == 0
    # (the takeover ran in the batch's own transaction here, so it was rolled back with it)
    assert set(IngestItem.objects.values_list("outcome", flat=True)) == {Outcome.PENDING}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="another connection sees committed rows only")
def test_a_batch_commits_its_new_sources_before_its_own_transaction(tmp_path, monkeypatch):
    """Another worker creating one of the batch's new sources must not wait for the batch's
    whole transaction: when it opens, the sources are already committed, seen from another
    connection (inserted inside it, they were not)."""
    texts = _texts(3)
    texts["3.md"] = article_text(
        title="另一来源", url="https://example.org/batch/other", source="另一个新来源", body="正文。" * 4
    )
    item_ids = _run_with_files(tmp_path, texts)
    create = ingest.articles_create_batch
    seen_elsewhere = []

    def create_seen_from_another_connection(**kwargs):
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT name FROM articles_source")
                seen_elsewhere.append({name for (name,) in cursor.fetchall()})
        finally:
            other.close()
        return create(**kwargs)

    monkeypatch.setattr(ingest, "articles_create_batch", create_seen_from_another_connection)
    outcomes = ingest.ingest_items_process_batch(item_ids=item_ids)
    assert set(outcomes.values()) == {Outcome.CREATED}
    assert seen_elsewhere == [{"批量测试", "另一个新来源"}]
    assert dict(Article.objects.values_list("title", "source__name")) == {
        **{f"批量写入测试第{n}篇": "批量测试" for n in range(3)},
        "另一来源": "另一个新来源",
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two workers' transactions at once")
def test_two_workers_naming_the_same_new_documents_in_opposite_orders_do_not_deadlock(monkeypatch):
    """Worker A creates one new record and, before its transaction ends, the other; worker B
    names the two the other way round, and is given the chance to create its first meanwhile.
    Each waiting for the other's uncommitted row was a deadlock (PostgreSQL fails one batch
    after a second). With the names locked in one order, B waits for A and uses its records."""
    texts = {
        "A": "依据《甲乙数据资源管理办法》和《丙丁网络数据安全条例》开展工作。",
        "B": "依据《丙丁网络数据安全条例》和《甲乙数据资源管理办法》开展工作。",
    }
    articles = {name: article_make(title=f"并发命名测试{name}", body="正文。") for name in texts}
    for name, article in articles.items():
        article.body_text = texts[name]  # (read by the sync below, not saved)
    a_created, b_created = threading.Event(), threading.Event()
    create = policy._records_create

    def records_create(*, wanted):
        # Each creates its names one at a time (as the rows of one insert are), A waiting after
        # its first: the moment B, if it can, creates its own first.
        first = create(wanted=wanted[:1])
        if threading.current_thread().name == "A" and not a_created.is_set():
            a_created.set()
            b_created.wait(timeout=3)
        elif threading.current_thread().name == "B":
            b_created.set()
        return first + create(wanted=wanted[1:])

    monkeypatch.setattr(policy, "_records_create", records_create)
    errors: list[str] = []

    def sync(name: str) -> None:
        try:
            # (the index changes are only recorded: the threads share this process's index
            # writer and searcher, which web and worker processes never share between threads)
            with changes_batched(wake=False), transaction.atomic():
                policy.articles_policy_sync(articles=[articles[name]])
        except Exception:  # (reported below, with the other thread's, traceback and all)
            errors.append(traceback.format_exc())
        finally:
            connection.close()

    workers = {name: threading.Thread(target=sync, args=(name,), name=name) for name in texts}
    workers["A"].start()
    assert a_created.wait(timeout=10)
    workers["B"].start()
    for worker in workers.values():
        worker.join(timeout=30)
    assert errors == [], "\n".join(errors)
    names = {"甲乙数据资源管理办法", "丙丁网络数据安全条例"}
    assert set(PolicyDocument.objects.filter(name__in=names).values_list("name", flat=True)) == names
    for article in articles.values():
        assert {m.document.name for m in PolicyMention.objects.filter(article=article)} == names


def test_overlapping_batches_are_claimed_once_each(tmp_path):
    item_ids = _run_with_files(tmp_path, _texts(8))
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    kind, most = IngestItem.Kind.FILE, 5
    a = pipeline.ingest_items_claim(
        item_ids=item_ids[:5], token=first, worker="w/1", kind=kind, max_attempts=most
    )
    b = pipeline.ingest_items_claim(
        item_ids=item_ids[3:], token=second, worker="w/2", kind=kind, max_attempts=most
    )
    assert a == item_ids[:5] and b == item_ids[5:]
    # the same delivery again (its process died) takes its own claims over
    assert (
        pipeline.ingest_items_claim(
            item_ids=item_ids, token=first, worker="w/1", kind=kind, max_attempts=most
        )
        == a
    )


def test_a_worker_batch_is_its_item_then_the_next_files_nobody_holds(tmp_path):
    item_ids = _run_with_files(tmp_path, _texts(6))
    other = uuid.uuid4().hex
    pipeline.ingest_item_claim(item_id=item_ids[2], token=other, worker="w/9")
    batch = pipeline.ingest_batch_ids(item_id=item_ids[1], token="mine", limit=4)
    assert batch == [item_ids[1], item_ids[3], item_ids[4], item_ids[5]]
    assert ingest.ingest_item_work(item_id=item_ids[1], token="mine", worker="w/1") == Outcome.CREATED
    states = dict(IngestItem.objects.values_list("id", "outcome"))
    assert [states[i] for i in item_ids] == [
        Outcome.PENDING,  # not after the item the worker was woken for
        Outcome.CREATED,
        Outcome.PENDING,  # held by another worker
        Outcome.CREATED,
        Outcome.CREATED,
        Outcome.CREATED,
    ]


def test_a_message_batch_ends_with_every_item_it_names_done_or_held_by_its_holder(tmp_path):
    """What a batch cannot take in one go is taken one by one: an archive is unpacked, a file
    past its attempts is failed, a file another worker holds is left to that worker."""
    item_ids = _run_with_files(tmp_path, _texts(5))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        inner = article_text(title="包里的文章", url=wechat_url(9101), source="批量", body="包里的正文。" * 5)
        zf.writestr("inner.md", inner)
    run = IngestRun.objects.get()
    archive_item = IngestItem.objects.create(
        run=run, kind=IngestItem.Kind.ARCHIVE, path="pack.zip", raw=archive.getvalue(), size=1
    )
    IngestItem.objects.filter(pk=item_ids[3]).update(attempts=99)
    pipeline.ingest_item_claim(item_id=item_ids[4], token="another", worker="w/9")
    named = [*item_ids, archive_item.pk]
    outcome = ingest.ingest_item_work(item_id=named[0], batch=named[1:], token="mine", worker="w/1")
    assert outcome == Outcome.CREATED
    states = dict(IngestItem.objects.values_list("id", "outcome"))
    assert [states[i] for i in named] == [
        Outcome.CREATED,
        Outcome.CREATED,
        Outcome.CREATED,
        Outcome.FAILED,  # its attempts were used up by processes that died
        Outcome.PENDING,  # held by another worker: theirs to finish
        Outcome.EXPANDED,
    ]
    assert "已停止重试" in IngestItem.objects.get(pk=item_ids[3]).reason
    assert IngestItem.objects.get(pk=item_ids[4]).claim_token == "another"
    # the archive's member joined the run; inline, nothing would wake it, so it waits pending
    assert IngestItem.objects.filter(parent=archive_item, outcome=Outcome.PENDING).count() == 1


def test_a_redelivered_batch_takes_over_its_own_claims_and_finishes_them(tmp_path):
    item_ids = _run_with_files(tmp_path, _texts(3))
    # the first delivery claimed all three and died before writing anything
    assert (
        pipeline.ingest_items_claim(
            item_ids=item_ids, token="delivery", worker="w/1", kind=IngestItem.Kind.FILE, max_attempts=5
        )
        == item_ids
    )
    outcome = ingest.ingest_item_work(item_id=item_ids[0], batch=item_ids[1:], token="delivery", worker="w/2")
    assert outcome == Outcome.CREATED
    assert set(IngestItem.objects.values_list("outcome", flat=True)) == {Outcome.CREATED}
    # another delivery's token would have found them held (and, now, done)
    assert ingest.ingest_item_work(item_id=item_ids[0], batch=item_ids[1:], token="x", worker="w/3") == (
        Outcome.CREATED
    )
