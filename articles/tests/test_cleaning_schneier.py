from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_it_keeps_the_post_and_drops_menu_tags_and_comments():
    result = clean_fixture("schneier.md")
    assert result.body_markdown.startswith("Forced periodic password changes")
    assert "matches what the guidance has said for years" in result.body_markdown
    for chrome in (
        "Newsletter",
        "Tags:",
        "Posted on",
        "Comments",
        "not part of the article",
        "## On Password",
    ):
        assert chrome not in result.body_markdown


def test_it_summarises_english_posts_at_a_sentence_boundary():
    summary = clean_fixture("schneier.md").summary
    assert summary.startswith("Forced periodic password changes")
    assert summary.endswith("patterns.")
