"""``tags_apply``: the demo's curation (tags by words in titles), idempotent, add-only."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from articles.models import Tag

from .factories import article_make

pytestmark = pytest.mark.django_db

DEMO_TAGS = Path(__file__).resolve().parents[2] / "demo" / "tags.json"


def run(path: Path) -> str:
    out = io.StringIO()
    call_command("tags_apply", str(path), stdout=out)
    return out.getvalue()


def test_it_tags_articles_by_title_words_once_and_keeps_editors_tags(tmp_path):
    ransom = article_make(title="测试稿：勒索团伙攻击医院", tags=("编辑的标签",))
    article_make(title="测试稿：数据出境申报指南")
    article_make(title="测试稿：无关")
    rules = tmp_path / "tags.json"
    rules.write_text(json.dumps({"勒索软件": ["勒索"], "数据出境": ["数据出境", "跨境"]}), encoding="utf-8")
    first = run(rules)
    assert "勒索软件 1 篇" in first and "数据出境 1 篇" in first
    assert sorted(ransom.tags.values_list("name", flat=True)) == ["勒索软件", "编辑的标签"]
    assert "勒索软件 0 篇" in run(rules)  # again: nothing new
    assert Tag.objects.get(name="数据出境").articles.count() == 1


def test_a_malformed_file_is_refused_with_a_chinese_message(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"标签": "不是列表"}', encoding="utf-8")
    with pytest.raises(CommandError, match="标签文件的格式"):
        run(bad)
    with pytest.raises(CommandError, match="读不了标签文件"):
        run(tmp_path / "missing.json")


def test_the_demo_tags_file_is_well_formed():
    rules = json.loads(DEMO_TAGS.read_text(encoding="utf-8"))
    assert len(rules) >= 5 and all(rules.values())
