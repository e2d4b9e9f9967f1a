"""The demo corpus shipped with the project cleans to article text only."""

from __future__ import annotations

from pathlib import Path

import pytest

from articles.cleaning import CleanResult, clean_article
from articles.parsing import ParseError, parse_article

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo" / "corpus"
BOILERPLATE_MARKERS = (
    "微信扫一扫",
    "预览时标签不可点",
    "扫码订阅",
    "关注我们",
    "投稿邮箱",
    "点击蓝字",
    "©",
    "Powered By",
    "发表评论",
    "相关推荐",
    "如有侵权",
    "相关文章",
    "夜间模式",
    "Current thread",
    "mailman/listinfo",
)
CREDIT_LABELS = ("编辑", "责编", "审核", "校对", "作者", "来源", "：", ":")


def demo_results() -> dict[str, CleanResult]:
    results: dict[str, CleanResult] = {}
    for path in sorted(DEMO_DIR.glob("*.md")):
        try:
            parsed = parse_article(data=path.read_bytes())
        except ParseError:
            continue
        results[path.name] = clean_article(
            markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source
        )
    return results


@pytest.fixture(scope="module")
def results() -> dict[str, CleanResult]:
    found = demo_results()
    assert len(found) >= 40, "the demo corpus should hold at least 40 well-formed articles"
    return found


def test_no_boilerplate_marker_survives_in_any_demo_article(results):
    leftovers = [
        (name, marker)
        for name, result in results.items()
        for marker in BOILERPLATE_MARKERS
        if marker in result.body_markdown
    ]
    assert leftovers == []


def test_authors_never_carry_a_credit_label(results):
    labelled = [
        (name, author)
        for name, result in results.items()
        for author in result.authors
        if any(label in author for label in CREDIT_LABELS)
    ]
    assert labelled == []


def test_every_demo_article_keeps_real_text(results):
    assert [name for name, result in results.items() if len(result.body_text) < 200] == []


def test_an_editor_on_the_byline_line_is_not_an_author(results):
    assert results["20241106001.md"].authors == ("王海宁",)


def test_a_site_byline_names_the_writer_and_the_source_but_not_the_editor(results):
    result = results["20240326001.md"]
    assert result.authors == ("李若彤",)
    assert result.attribution == "数字合规研究"


def test_an_editor_only_byline_gives_no_author(results):
    assert results["20250609001.md"].authors == ()


def test_mirrored_news_starts_with_the_article_and_credits_the_origin(results):
    result = results["20231108001.md"]
    assert result.body_markdown.startswith("一个自称“夜蛾”")
    assert result.attribution == "https://www.anquanmenhu.cn/news/38820.html"
    assert results["20240830001.md"].authors == ("Daniel Reyes",)


def test_list_archive_advisories_keep_the_message_and_name_the_sender(results):
    result = results["20230518001.md"]
    assert result.authors == ("Marta Kowalczyk",)
    assert result.body_markdown.startswith("```")
    assert "Upgrade to 4.2.4 or later" in result.body_markdown


def test_account_slogans_and_taglines_are_gone_from_both_ends(results):
    for name, result in results.items():
        lines = [line.strip() for line in result.body_markdown.splitlines() if line.strip()]
        assert lines, name
        for edge in (lines[0], lines[-1]):
            assert edge not in ("**聚焦威胁态势 守护数字安全**", "**每周更新数据合规实务**"), name
            assert not edge.startswith("!["), name
            assert " · " not in edge, name


def test_a_repost_keeps_its_attribution_without_the_original_account_card(results):
    result = results["20240714001.md"]
    assert result.attribution == "网安周报"
    assert "每周一更" not in result.body_markdown
    assert result.body_markdown.startswith("7月10日凌晨")
