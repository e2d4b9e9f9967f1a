"""Ingest every real crawled file we have and check nothing is lost or left dirty."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from articles.models import Article, IngestItem

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.corpus]

WECHAT_MARKERS = [
    "微信扫一扫",
    "预览时标签不可点",
    "扫码订阅",
    "继续滑动看下一个",
    "轻触阅读原文",
    "向上滑动看下一个",
]
TRAILING_WIDGETS = {"赞", "在看", "分享", "留言", "写留言", "知道了"}


def _ingest(path: Path) -> str:
    out = io.StringIO()
    try:
        call_command("ingest", str(path), "--sync", "--no-progress", stdout=out, stderr=io.StringIO())
    except CommandError:
        pass
    return out.getvalue()


def _front_matter(path: Path) -> dict | None:
    """The header as the crawler wrote it: one ``key: value`` per line, YAML quoting honoured."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return None
    fields = {}
    for line in text.split("---", 2)[1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        value = value.strip()
        if value[:1] in {"'", '"'}:
            try:
                value = yaml.safe_load(value)
            except yaml.YAMLError:
                pass
        fields[key.strip()] = value
    return fields


def test_the_whole_real_corpus_is_ingested_without_losing_a_file(corpus_dir):
    files = sorted(corpus_dir.glob("*.md"))
    _ingest(corpus_dir)

    items = {
        Path(item.path).name: item for item in IngestItem.objects.select_related("article", "article__source")
    }
    assert set(items) == {f.name for f in files}, "every file must have an ingest item"
    failed = {name: item.reason for name, item in items.items() if item.outcome == "failed"}
    assert all(failed.values()), "every failure carries a reason"

    for path in files:
        meta = _front_matter(path)
        if not meta or not meta.get("title") or not meta.get("url"):
            continue
        item = items[path.name]
        assert item.outcome in {"created", "updated", "unchanged"}, (path.name, item.reason)
        article = item.article
        # Runs of whitespace (tabs from the crawler) in a title become one space.
        assert article.title == " ".join(str(meta["title"]).split())
        assert article.source.name == str(meta["source"]).strip()
        assert article.published_on.isoformat() == str(meta["date"])[:10]

    for article in Article.objects.filter(url__contains="mp.weixin.qq.com"):
        for marker in WECHAT_MARKERS:
            assert marker not in article.body_markdown, (article.title, marker)
        last_lines = [line.strip() for line in article.body_text.strip().splitlines()[-3:]]
        assert not TRAILING_WIDGETS & set(last_lines), (article.title, last_lines)

    first = items["000_1238d72e15d35a9d.md"].article
    assert [a.name for a in first.authors.all()] == ["苏德悦"]


def test_a_second_run_over_the_real_corpus_creates_nothing(corpus_dir):
    _ingest(corpus_dir)
    count = Article.objects.count()
    out = _ingest(corpus_dir)
    assert "新建 0" in out and "更新 0" in out
    assert Article.objects.count() == count
