"""At 390 px wide (a common phone) no page scrolls sideways and the search box stays usable."""

from __future__ import annotations

import pytest

from .helpers import SEARCH_TERM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_WIDTH = 390


def horizontal_overflow(page) -> list[str]:
    """Elements sticking out past the right edge, described for the failure message."""
    return page.evaluate(
        """(limit) => Array.from(document.querySelectorAll('body *'))
            .filter(el => el.getBoundingClientRect().right > limit + 1 && el.offsetParent !== null)
            .slice(0, 5)
            .map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                 + ' right=' + Math.round(el.getBoundingClientRect().right))""",
        PHONE_WIDTH,
    )


def assert_fits_phone(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"page is {width}px wide at {PHONE_WIDTH}px: {horizontal_overflow(page)}"


@pytest.mark.parametrize(
    ("path", "search_box"),
    [
        ("/", "#home-q"),
        (f"/search/?q={SEARCH_TERM}", "#search-q"),
    ],
)
def test_list_pages_fit_a_phone_screen(phone_page, base_url, path, search_box):
    phone_page.goto(f"{base_url}{path}")
    phone_page.wait_for_load_state("load")

    assert_fits_phone(phone_page)
    box = phone_page.locator(search_box)
    assert box.is_visible()
    bounds = box.bounding_box()
    assert bounds is not None
    assert bounds["x"] >= 0
    assert bounds["x"] + bounds["width"] <= PHONE_WIDTH
    # Wide enough to type a few characters into.
    assert bounds["width"] >= 120


def test_search_results_come_before_the_facets_on_a_phone(phone_page, base_url):
    phone_page.goto(f"{base_url}/search/?q={SEARCH_TERM}")
    phone_page.wait_for_load_state("load")

    first_result = phone_page.locator(".results .result").first
    assert first_result.is_visible()
    # The facets, the chart and the sort/condition controls start folded: the first result
    # (its title at least) is on the first screen.
    first_result_top = first_result.bounding_box()["y"]
    assert first_result_top + 60 < 844, f"first result starts at {first_result_top}px"
    for folded in (".facets", ".trend", ".search-form__more"):
        assert phone_page.locator(folded).get_attribute("open") is None, folded


def test_the_phone_search_controls_open_behind_one_button_and_the_dates_fit(
    phone_page, base_url, artifacts_dir
):
    phone_page.goto(f"{base_url}/search/?q={SEARCH_TERM}")
    phone_page.wait_for_load_state("load")
    phone_page.screenshot(path=str(artifacts_dir / "search-phone-first-screen.png"))
    assert not phone_page.locator("#search-sort").is_visible()
    phone_page.locator(".search-form__more > summary").click()
    assert phone_page.locator("#search-sort").is_visible()
    for box in ("#search-date-from", "#search-date-to"):
        bounds = phone_page.locator(box).bounding_box()
        assert bounds["x"] >= 0 and bounds["x"] + bounds["width"] <= PHONE_WIDTH, (box, bounds)
        # wide enough for the whole date (yyyy-mm-dd and the picker button)
        assert bounds["width"] >= 150, (box, bounds)
    assert_fits_phone(phone_page)
    phone_page.screenshot(path=str(artifacts_dir / "search-phone-controls.png"))


def test_an_article_page_fits_a_phone_screen(phone_page, base_url):
    phone_page.goto(f"{base_url}/search/?q={SEARCH_TERM}")
    with phone_page.expect_navigation():
        phone_page.locator(".results .result__title a").first.click()
    phone_page.wait_for_load_state("load")

    assert "/articles/" in phone_page.url
    assert_fits_phone(phone_page)
    # Images in the body shrink to the column instead of widening the page.
    wide_images = phone_page.evaluate(
        "(limit) => Array.from(document.images).filter(i => i.getBoundingClientRect().width > limit).length",
        PHONE_WIDTH,
    )
    assert wide_images == 0
