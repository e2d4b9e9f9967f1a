"""Ingest of files whose metadata is broken or hostile: it is cleaned, and the item says what was done."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from articles.models import Article, IngestItem

from .helpers import article_text, wechat_url

pytestmark = pytest.mark.django_db(transaction=True)

CONTROLS_REMOVED = "标题或元数据中的控制字符已删除"


def ingest_text(folder: Path, text: str, name: str = "a.md") -> IngestItem:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    call_command("ingest", str(path), "--sync", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    return IngestItem.objects.select_related("article").latest("id")


def test_control_characters_leave_title_source_authors_and_attribution_and_the_item_says_so(tmp_path):
    text = article_text(
        title="数据治理周报",
        url=wechat_url(7),
        source="测试观察",
        byline="张\x03三",
        body="数据治理工作持续推进，各地出台配套措施。\n\n来源：国家\x04数据局\n\n更多内容见附件。",
    )
    # The front matter's title and source hold control characters; the body repeats them clean.
    text = text.replace("title: 数据治理周报", "title: 数据\x01治理\x0c周报")
    text = text.replace("source: 测试观察", "source: 测试\x02观察")
    item = ingest_text(tmp_path, text)
    article = item.article
    assert article is not None, item.reason
    assert article.title == "数据治理周报"
    assert article.source.name == "测试观察"
    assert [a.name for a in article.authors.all()] == ["张三"]
    assert article.attribution == "国家数据局"
    assert item.reason.count(CONTROLS_REMOVED) == 1
    # The input itself is never changed: the bytes, and the decoded text on the article.
    assert bytes(item.raw) == text.encode("utf-8")
    assert article.raw_text == text


def test_control_characters_only_in_a_byline_are_noted_too(tmp_path):
    text = article_text(
        title="数据治理月报",
        url=wechat_url(8),
        source="测试观察",
        byline="李\x05四",
        body="数据治理工作持续推进。",
    )
    item = ingest_text(tmp_path, text)
    assert [a.name for a in item.article.authors.all()] == ["李四"]
    assert CONTROLS_REMOVED in item.reason


def test_a_clean_file_has_no_control_character_note(tmp_path):
    item = ingest_text(
        tmp_path,
        article_text(title="数据治理年报", url=wechat_url(9), source="测试观察", body="数据治理在推进。"),
    )
    assert item.outcome == IngestItem.Outcome.CREATED
    assert "控制字符" not in item.reason


# --- links ---------------------------------------------------------------------------------------


def test_a_javascript_url_is_not_stored_and_identity_falls_back_to_source_title_and_date(tmp_path):
    fields = {"title": "链接测试稿", "source": "测试观察", "body": "链接测试的正文内容。"}
    bad = ingest_text(tmp_path, article_text(url="javascript:alert(1)", **fields), name="bad.md")
    article = bad.article
    assert (article.url, article.canonical_url) == ("", "")
    assert "原文链接不是 http(s) 地址，已忽略：javascript:alert(1)" in bad.reason
    assert "缺少 url 字段" not in bad.reason
    # The same article without any url is the same article, not a second one.
    none = ingest_text(tmp_path, article_text(url='""', **fields).replace("测试的正文", "测试的新正文"))
    assert none.article_id == article.pk
    assert Article.objects.count() == 1


def test_a_long_non_http_url_is_shortened_in_the_note(tmp_path):
    url = "data:text/html;base64," + "A" * 300
    item = ingest_text(
        tmp_path, article_text(title="长链接测试稿", url=url, source="测试观察", body="长链接测试的正文。")
    )
    assert item.article.url == ""
    (note,) = [part for part in item.reason.split("；") if "原文链接" in part]
    assert note.startswith("原文链接不是 http(s) 地址，已忽略：data:text/html")
    assert note.endswith("…") and len(note) < 100


def test_a_bare_host_url_is_stored_as_the_https_url_it_stands_for(tmp_path):
    item = ingest_text(
        tmp_path,
        article_text(
            title="裸域名测试稿",
            url="www.example.cn/news/1.html",
            source="测试观察",
            body="裸域名测试的正文。",
        ),
    )
    assert item.article.url == "https://www.example.cn/news/1.html"
    assert item.article.canonical_url == "https://www.example.cn/news/1.html"
    assert "原文链接" not in item.reason


def test_a_cover_image_that_is_not_http_is_dropped_with_a_note(tmp_path):
    text = article_text(
        title="封面测试稿",
        url=wechat_url(10),
        source="测试观察",
        body="![cover_image](javascript:alert%281%29)\n\n封面测试的正文内容。",
    )
    item = ingest_text(tmp_path, text)
    assert item.article.cover_image == ""
    assert "封面图不是 http(s) 地址，已忽略：javascript:alert%281%29" in item.reason


def test_an_http_cover_image_is_kept(tmp_path):
    text = article_text(
        title="封面测试稿二",
        url=wechat_url(11),
        source="测试观察",
        body="![cover_image](https://img.example.cn/cover.jpg)\n\n封面测试的正文内容。",
    )
    item = ingest_text(tmp_path, text)
    assert item.article.cover_image == "https://img.example.cn/cover.jpg"
    assert "封面" not in item.reason


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0000-00-00", "2024-05-01T25:61:61"])
def test_an_impossible_date_keeps_the_file_and_takes_the_fetch_date(tmp_path, value):
    text = article_text(
        title="日期测试稿",
        url=wechat_url(12),
        source="测试观察",
        date=value,
        fetch_date="2025-03-01T18:30:00Z",
        body="日期测试的正文内容。",
    )
    item = ingest_text(tmp_path, text)
    assert item.outcome == IngestItem.Outcome.CREATED, item.reason
    assert item.article.published_on.isoformat() == "2025-03-02"
    assert f"无法识别的发布日期“{value}”，已改用抓取日期 2025-03-02" in item.reason


def test_an_impossible_fetch_date_and_date_leave_the_date_empty_and_say_so(tmp_path):
    text = article_text(
        title="日期测试稿二",
        url=wechat_url(13),
        source="测试观察",
        date="0000-00-00",
        fetch_date="2024-13-45 10:00:00",
        body="日期测试的正文内容。",
    )
    item = ingest_text(tmp_path, text)
    assert item.outcome == IngestItem.Outcome.CREATED, item.reason
    assert (item.article.published_on, item.article.fetched_at) == (None, None)
    assert "无法识别的发布日期“0000-00-00”，也没有可用的抓取日期，发布日期留空" in item.reason
    assert "无法识别的抓取时间“2024-13-45 10:00:00”" in item.reason
    assert "文件无法解析" not in item.reason
