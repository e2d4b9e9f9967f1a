from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_it_reads_the_author_under_the_title():
    assert clean_fixture("fourhou.md").authors == ("吴清扬",)


def test_it_uses_the_translated_from_url_without_the_reprint_notice():
    assert clean_fixture("fourhou.md").attribution == "https://news.example.com/router-backdoor"


def test_it_keeps_lead_and_body_and_drops_menus_share_and_comment_widgets():
    result = clean_fixture("fourhou.md")
    assert result.body_markdown.startswith("导语：一款家用路由器")
    assert "厂商已确认问题" in result.body_markdown
    for chrome in ("企业中心", "投稿", "收藏", "分享至", "发表评论", "你可能感兴趣的"):
        assert chrome not in result.body_markdown
