"""Typing in the search box suggests titles; the keyboard picks one and opens it."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_typed_characters_show_title_suggestions_that_arrow_and_enter_open(page, base_url):
    page.goto(f"{base_url}/search/")
    box = page.locator("#search-q")
    box.click()
    box.press_sequentially("数据", delay=50)

    listbox = page.get_by_role("listbox", name="标题联想")
    listbox.wait_for(state="visible")
    options = listbox.get_by_role("option")
    assert options.count() >= 1
    assert box.get_attribute("aria-expanded") == "true"
    first_title = options.first.inner_text().strip()

    box.press("ArrowDown")
    assert options.first.get_attribute("aria-selected") == "true"
    with page.expect_navigation():
        box.press("Enter")

    assert "/articles/" in page.url
    assert page.locator("h1").first.inner_text().strip() == first_title


def test_one_character_shows_no_suggestions_and_escape_closes_the_list(page, base_url):
    page.goto(f"{base_url}/search/")
    box = page.locator("#search-q")
    box.click()
    box.press_sequentially("数", delay=50)
    page.wait_for_timeout(600)
    listbox = page.get_by_role("listbox", name="标题联想")
    assert not listbox.is_visible()

    box.press_sequentially("据", delay=50)
    listbox.wait_for(state="visible")
    box.press("Escape")
    listbox.wait_for(state="hidden")
    assert box.input_value() == "数据"
