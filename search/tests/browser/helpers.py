"""Small page helpers shared by the browser tests."""

from __future__ import annotations

import re

SEARCH_TERM = "数据安全"
COUNT_RE = re.compile(r"共\s*(\d+)\s*条")


def result_count(page) -> int:
    """The number in “共 N 条结果”, read from the page as a person would."""
    text = page.locator("#result-count").inner_text()
    match = COUNT_RE.search(text)
    assert match, f"no result count in {text!r}"
    return int(match.group(1))


def result_titles(page) -> list[str]:
    return [title.strip() for title in page.locator(".results .result__title").all_inner_texts()]


def search_submit(page, *, base_url: str, term: str) -> None:
    """Type a query into the search page's box and press the search button."""
    page.goto(f"{base_url}/search/")
    box = page.get_by_role("searchbox", name="关键词")
    box.fill(term)
    with page.expect_navigation():
        page.locator("#search-form").get_by_role("button", name="搜索", exact=True).click()
