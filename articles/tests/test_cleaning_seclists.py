from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_it_reads_the_sender_as_author_without_the_list_relay_suffix():
    assert clean_fixture("seclists.md").authors == ("Mara Kowalski",)


def test_it_keeps_the_message_and_drops_navigation_and_the_list_footer():
    result = clean_fixture("seclists.md")
    assert "The page title field is rendered without escaping" in result.body_markdown
    for chrome in (
        "Nmap.org",
        "By Date",
        "Current thread",
        "*From*",
        "Sent through the Full Disclosure",
        "_____",
    ):
        assert chrome not in result.body_markdown
    assert result.body_markdown.startswith("```")
    assert result.body_markdown.rstrip().endswith("```")
