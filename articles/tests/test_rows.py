"""``rows_update``: many rows' fields in one statement, as ``bulk_update`` writes them;
``rows_update_changed``: each row's own fields, a statement per set of fields."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article, PolicyDocument, Story
from articles.rows import BATCH, rows_update, rows_update_changed

from .factories import article_make

pytestmark = pytest.mark.django_db


def test_every_kind_of_field_is_written_as_it_is_in_memory_and_nothing_else():
    text = article_make(title="测试稿：原文", body="正文。")
    documents = [
        PolicyDocument.objects.create(name=f"测试行更新{n}号办法", kind=PolicyDocument.Kind.TITLE, topic="旧")
        for n in range(3)
    ]
    documents[0].title = "测试行更新0号办法（修订）"
    documents[0].issuers = ["工业和信息化部", "财政部"]
    documents[0].signed_on = datetime.date(2023, 6, 12)
    documents[0].official_article = text
    documents[1].issuers = []
    documents[1].title = "含'引号\"与\\反斜杠"
    documents[2].signed_on = None
    with CaptureQueriesContext(connection) as queries:
        rows_update(rows=documents, fields=["title", "issuers", "signed_on", "official_article"])
    assert len([q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]) == 1
    stored = {d.pk: d for d in PolicyDocument.objects.filter(pk__in=[d.pk for d in documents])}
    for document in documents:
        again = stored[document.pk]
        assert (again.title, again.issuers, again.signed_on, again.official_article_id) == (
            document.title,
            document.issuers,
            document.signed_on,
            document.official_article_id,
        )
        assert again.topic == "旧"  # (not among the fields)


def test_a_foreign_key_is_set_and_cleared_by_its_id_across_batches():
    articles = [article_make(title=f"测试稿：行{n}", body="正文。") for n in range(3)]
    story = Story.objects.create()
    moved = [Article(pk=a.pk, story_id=story.pk if n != 1 else None) for n, a in enumerate(articles)]
    rows_update(rows=moved * (BATCH // 3 + 1), fields=["story_id"])  # (more rows than one batch)
    assert dict(Article.objects.values_list("pk", "story_id")) == {
        articles[0].pk: story.pk,
        articles[1].pk: None,
        articles[2].pk: story.pk,
    }


def test_each_row_gets_its_own_changed_fields_in_one_statement_per_set_of_fields():
    documents = [
        PolicyDocument.objects.create(
            name=f"测试逐行字段{n}号规定", kind=PolicyDocument.Kind.TITLE, topic="旧"
        )
        for n in range(4)
    ]
    before = {document.pk: document.title for document in documents}
    for document in documents:
        document.title, document.topic = f"{document.name}（新）", "新"
    changed = [
        (documents[0], {"title"}),
        (documents[1], {"topic"}),
        (documents[2], {"topic", "title"}),
        (documents[3], set()),  # nothing changed: not written
    ]
    with CaptureQueriesContext(connection) as queries:
        rows_update_changed(changed=changed)
    assert len([q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]) == 3
    stored = {d.pk: d for d in PolicyDocument.objects.filter(pk__in=[d.pk for d in documents])}
    for document, fields in changed:
        again = stored[document.pk]
        assert again.title == (document.title if "title" in fields else before[document.pk]), document.name
        assert again.topic == ("新" if "topic" in fields else "旧"), document.name
