"""Searching, filtering by a facet, paging and opening a result, as a reader does it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .helpers import SEARCH_TERM, result_count, result_titles, search_submit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_finds_a_chinese_term_typed_into_the_search_box_and_highlights_it(page, base_url):
    search_submit(page, base_url=base_url, term=SEARCH_TERM)

    assert parse_qs(urlsplit(page.url).query)["q"] == [SEARCH_TERM]
    assert result_count(page) > 1
    assert page.locator(".results .result").count() > 1
    marks = page.locator(".results mark")
    assert marks.count() > 0
    highlighted = set(marks.all_inner_texts())
    # The segmenter may highlight the two words separately; together they spell the query.
    assert highlighted & {SEARCH_TERM, "数据", "安全"}, highlighted


def test_clicking_a_source_facet_narrows_the_results_to_its_count(page, base_url):
    search_submit(page, base_url=base_url, term=SEARCH_TERM)
    total = result_count(page)
    titles_before = result_titles(page)

    facet = page.locator("section.facet", has=page.get_by_role("heading", name="来源", exact=True))
    # The biggest source would leave the list unchanged when it holds every hit, so pick one
    # whose count is smaller than the total.
    links = facet.locator("a.facet__link")
    chosen = None
    for index in range(links.count()):
        link = links.nth(index)
        count = int(link.locator(".facet__count").inner_text())
        if count < total:
            chosen = (link, link.locator(".facet__value").inner_text().strip(), count)
            break
    assert chosen is not None, "every source holds every hit; the demo corpus should have more variety"
    link, source_name, facet_count = chosen

    with page.expect_navigation():
        link.click()

    assert parse_qs(urlsplit(page.url).query)["source"] == [source_name]
    assert result_count(page) == facet_count
    assert page.locator(".results .result").count() == min(facet_count, 20)
    assert result_titles(page) != titles_before
    sources = {text.strip() for text in page.locator(".results .meta__source").all_inner_texts()}
    assert sources == {source_name}
    selected = facet.locator("a.facet__link.is-selected")
    assert selected.count() == 1
    assert source_name in selected.inner_text()


def test_next_page_shows_different_results(page, base_url):
    page.goto(f"{base_url}/search/?q={SEARCH_TERM}&page_size=3")
    first_page = result_titles(page)
    assert len(first_page) == 3
    assert "第 1 /" in page.locator(".result-page").inner_text()

    with page.expect_navigation():
        page.get_by_role("navigation", name="分页").get_by_role("link", name="下一页").click()

    assert parse_qs(urlsplit(page.url).query)["page"] == ["2"]
    second_page = result_titles(page)
    assert len(second_page) >= 1
    assert not set(first_page) & set(second_page)
    assert "第 2 /" in page.locator(".result-page").inner_text()
    assert page.get_by_role("navigation", name="分页").get_by_role("link", name="上一页").is_visible()


def test_a_result_opens_its_article_page(page, base_url):
    search_submit(page, base_url=base_url, term=SEARCH_TERM)
    first = page.locator(".results .result__title a").first
    title = first.inner_text().strip()

    with page.expect_navigation():
        first.click()

    assert "/articles/" in page.url
    assert page.locator("h1").first.inner_text().strip() == title
    body = page.locator(".article__body")
    assert body.is_visible()
    assert len(body.inner_text().strip()) > 50
