"""The words added to the shipped dictionary reach articles indexed before them."""

from __future__ import annotations

import importlib

from django.apps import apps

from articles.tests.factories import article_make
from search.models import IndexChange


def test_articles_holding_a_word_new_to_the_shipped_dictionary_are_queued_for_reindexing(db):
    migration = importlib.import_module("search.migrations.0008_reindex_new_dictionary_words")
    holding = article_make(title="谷歌修复安卓系统漏洞", body="谷歌发布安卓安全公告。")
    other = article_make(title="数据要素市场观察", body="数据要素流通交易。")
    IndexChange.objects.all().delete()  # as indexed under the old dictionary

    migration.mark_articles(apps, None)

    assert set(IndexChange.objects.values_list("article_id", flat=True)) == {holding.pk}
    assert other.pk not in set(IndexChange.objects.values_list("article_id", flat=True))
