from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_it_starts_after_the_location_line_and_drops_the_site_menu():
    result = clean_fixture("freebuf.md")
    assert result.body_markdown.startswith("安全研究人员发现，一个勒索团伙")
    for chrome in ("主站", "云安全", "登录", "FreeBuf.COM网络安全行业门户", "所属地", "关注"):
        assert chrome not in result.body_markdown


def test_it_stops_before_tags_reprint_notice_and_footer():
    result = clean_fixture("freebuf.md")
    for chrome in ("# 勒索软件", "未经授权禁止转载", "被以下专辑收录", "有奖投稿", "Copyright"):
        assert chrome not in result.body_markdown
    assert "fake_chart.png" in result.body_markdown


def test_it_uses_the_reference_link_as_attribution():
    assert clean_fixture("freebuf.md").attribution == "https://news.example.com/ransomware-rmm"
