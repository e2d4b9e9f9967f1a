"""What a reader sees on the error pages and the home page, desktop and phone (screenshots
under test-artifacts/screenshots/)."""

from __future__ import annotations

import pytest

from .test_screenshots import page_ready, screenshot_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("which", ["page", "phone_page"])
def test_a_missing_page_is_the_sites_own_chinese_404_with_an_icon(request, base_url, artifacts_dir, which):
    tab = request.getfixturevalue(which)
    response = tab.goto(f"{base_url}/no-such-page/")
    page_ready(tab)
    assert response.status == 404
    assert tab.locator("h1").inner_text() == "找不到这个页面"
    assert tab.locator("html").get_attribute("lang") == "zh-CN"
    icon = tab.locator('link[rel="icon"]').get_attribute("href")
    assert tab.request.get(f"{base_url}{icon}").status == 200
    assert tab.request.get(f"{base_url}/favicon.ico").status == 200  # (followed to the icon)
    with tab.expect_navigation():
        tab.get_by_role("link", name="返回首页").click()
    assert tab.url.rstrip("/") == base_url
    tab.goto(f"{base_url}/no-such-page/")
    page_ready(tab)
    screenshot_save(tab, folder=artifacts_dir, name=f"404-{'phone' if which == 'phone_page' else 'desktop'}")


def test_the_home_page_on_a_phone_leads_with_one_story(phone_page, base_url, artifacts_dir):
    phone_page.goto(f"{base_url}/")
    page_ready(phone_page)
    lead = phone_page.locator(".lead__title").bounding_box()
    secondary = phone_page.locator(".secondary").first.bounding_box()
    assert lead is not None and secondary is not None
    assert secondary["y"] > lead["y"]  # one column: the secondary stories under the lead
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot_save(phone_page, folder=artifacts_dir, name="home-phone")


def test_the_demo_data_has_tags_so_the_search_page_offers_the_tag_facet(page, base_url):
    page.goto(f"{base_url}/search/")
    page_ready(page)
    facet = page.locator("section.facet", has=page.get_by_role("heading", name="标签", exact=True))
    assert facet.count() == 1 and facet.locator("a.facet__link").count() >= 3
    with page.expect_navigation():
        facet.locator("a.facet__link").first.click()
    assert "tag=" in page.url and page.locator(".results .result").count() >= 1
