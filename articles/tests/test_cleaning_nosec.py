from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_it_reads_the_poster_next_to_the_avatar_as_author():
    assert clean_fixture("nosec.md").authors == ("qingfeng",)


def test_it_keeps_the_advisory_sections_and_drops_menus_paging_and_comments():
    result = clean_fixture("nosec.md")
    assert result.body_markdown.startswith("# 一、漏洞概述")
    assert "请尽快升级到厂商发布的最新版本。" in result.body_markdown
    for chrome in ("威胁情报", "headImg", "上一篇", "浏览:", "最新评论", "相关推荐", "ICP备"):
        assert chrome not in result.body_markdown
