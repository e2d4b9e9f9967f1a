from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_it_reads_the_original_author_from_the_translation_notice():
    assert clean_fixture("anquanke.md").authors == ("Lena Ortiz",)


def test_it_names_the_translated_source_as_attribution():
    assert clean_fixture("anquanke.md").attribution == "examplesec"


def test_it_keeps_the_translation_and_drops_notice_reprint_lines_and_comments():
    result = clean_fixture("anquanke.md")
    assert result.body_markdown.startswith("某开源 API 网关被发现存在认证绕过漏洞")
    assert "维护者已发布修复版本" in result.body_markdown
    for chrome in ("阅读量", "译文声明", "原文地址", "商务合作", "分享到", "发表评论", "相关文章"):
        assert chrome not in result.body_markdown
