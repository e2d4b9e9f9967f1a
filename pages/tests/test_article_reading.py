"""The article page reads like a publication: reader wording, no summary box repeating the
opening paragraph (the headings' sizes are checked in a browser: search/tests/browser)."""

from __future__ import annotations

import pytest
from django.test import Client

from articles.tests.factories import article_make

pytestmark = pytest.mark.django_db

OPENING = "测试稿：本市发布数据要素市场建设方案，明确三年目标和十项任务。"


def test_the_time_a_file_was_taken_in_is_worded_for_readers(client: Client) -> None:
    article = article_make(title="测试稿：措辞", body=OPENING)
    html = client.get(article.get_absolute_url()).content.decode()
    assert "收录时间：" in html and "抓取时间" not in html


def test_a_summary_that_is_the_opening_paragraph_is_not_shown_twice(client: Client) -> None:
    article = article_make(title="测试稿：摘要", body=OPENING + "\n其余正文。")
    article.summary = OPENING
    article.save()
    html = client.get(article.get_absolute_url()).content.decode()
    assert 'class="article__summary"' not in html
    assert html.count(OPENING) == 1


def test_a_summary_an_editor_wrote_is_shown(client: Client) -> None:
    article = article_make(title="测试稿：编辑摘要", body=OPENING)
    article.summary = "编辑摘要：方案聚焦数据确权、流通和收益分配。"
    article.save()
    html = client.get(article.get_absolute_url()).content.decode()
    assert '<p class="article__summary">编辑摘要：方案聚焦数据确权、流通和收益分配。</p>' in html
