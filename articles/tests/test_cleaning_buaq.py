from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_it_keeps_only_the_mirrored_article_between_the_byline_and_the_origin_line():
    result = clean_fixture("buaq.md")
    assert result.body_markdown.startswith("Resource directories in PE files")
    assert "walk(entry)" in result.body_markdown
    for chrome in (
        "我的收藏",
        "黑夜模式",
        "阅读量",
        "A short preview",
        "PaperCache",
        "admin#unsafe.sh",
        "星际黑客",
    ):
        assert chrome not in result.body_markdown


def test_it_uses_the_origin_url_as_attribution():
    assert clean_fixture("buaq.md").attribution == "https://blog.example.org/pe-resources/"


def test_it_does_not_mistake_the_origin_host_for_an_author():
    assert clean_fixture("buaq.md").authors == ()


def test_it_keeps_code_blocks_as_separate_lines_in_plain_text():
    lines = clean_fixture("buaq.md").body_text.splitlines()
    assert "for entry in directory.entries:" in lines
    assert "    walk(entry)" in lines
