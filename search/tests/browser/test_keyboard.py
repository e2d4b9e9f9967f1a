"""The search box can be reached with the Tab key and shows where the focus is."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_TABS = 15


def tab_until(page, *, element_id: str) -> int:
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return presses
    raise AssertionError(f"#{element_id} not reached after {MAX_TABS} Tab presses")


def focus_is_visible(page, *, selector: str) -> bool:
    """True when the focused element draws an outline or a focus ring of some kind."""
    return page.evaluate(
        """(selector) => {
            const el = document.querySelector(selector);
            if (document.activeElement !== el || !el.matches(':focus-visible')) return false;
            const style = getComputedStyle(el);
            const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
            const ring = style.boxShadow && style.boxShadow !== 'none';
            return outline || Boolean(ring);
        }""",
        selector,
    )


@pytest.mark.parametrize(("path", "element_id"), [("/", "home-q"), ("/search/", "search-q")])
def test_tab_reaches_the_search_box_with_a_visible_focus(page, base_url, path, element_id):
    page.goto(f"{base_url}{path}")
    page.wait_for_load_state("load")

    presses = tab_until(page, element_id=element_id)

    # the skip link, the site's name and the four sections of the header, then the box
    assert presses <= 7, f"the search box is {presses} Tab presses away"
    assert focus_is_visible(page, selector=f"#{element_id}")


def test_the_skip_link_is_the_first_stop_and_moves_focus_to_the_content(page, base_url):
    page.goto(f"{base_url}/search/")
    page.keyboard.press("Tab")

    assert page.evaluate("() => document.activeElement.textContent.trim()") == "跳到正文"
    assert page.locator(".skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_a_search_can_be_done_with_the_keyboard_alone(page, base_url):
    page.goto(f"{base_url}/search/")
    tab_until(page, element_id="search-q")
    page.keyboard.type("数据安全")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.locator(".results .result").count() > 0
