"""The policy library in a real browser: search by 文号, facets, a record's page with its
official text, timeline and citations; desktop and phone, with screenshots to look at."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from .test_screenshots import page_ready, screenshot_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The demo corpus's official text (demo/corpus/20241021001.md), typed as people type numbers.
DEMO_NUMBER_TYPED = "工信厅数[2024]901号"
DEMO_TITLE = "演示用公共数据资源目录编制指南"


def test_the_library_searches_by_number_filters_by_issuer_and_opens_a_record(page, base_url, artifacts_dir):
    page.goto(f"{base_url}/policy/")
    page_ready(page)
    assert page.get_by_role("heading", name="发文机关").is_visible()
    assert page.locator("li.policy-doc").count() >= 10  # seeded laws and the demo's documents
    screenshot_save(page, folder=artifacts_dir, name="policy-library-desktop")

    issuer = page.locator('section[data-facet="issuer"] a', has_text="国家数据局综合司")
    with page.expect_navigation():
        issuer.click()
    page_ready(page)
    assert parse_qs(urlparse(page.url).query)["issuer"] == ["国家数据局综合司"]
    rows = page.locator("li.policy-doc")
    assert rows.count() == 1 and DEMO_TITLE in rows.first.inner_text()

    page.goto(f"{base_url}/policy/")
    page.fill("#policy-q", DEMO_NUMBER_TYPED)
    with page.expect_navigation():
        page.press("#policy-q", "Enter")
    page_ready(page)
    first = page.locator("li.policy-doc").first
    assert "policy-doc--match" in first.get_attribute("class")
    assert "工信厅数〔2024〕901号" in first.inner_text() and "现行有效" in first.inner_text()
    with page.expect_navigation():
        first.locator("a.policy-doc__name").click()
    page_ready(page)

    assert re.search(r"/policy/\d+/$", page.url)
    facts = page.locator("dl.policy-facts").inner_text()
    for text in (
        "工信厅数〔2024〕901号",
        "工业和信息化部办公厅、国家数据局综合司",
        "2024年10月18日",
        "2024年11月1日",
    ):
        assert text in facts, text
    official = page.locator(".policy-official a")
    assert DEMO_TITLE in official.inner_text()
    cites = page.locator(".policy-links").inner_text()
    assert "中华人民共和国数据安全法" in cites and "关于加快公共数据资源开发利用的意见" in cites
    screenshot_save(page, folder=artifacts_dir, name="policy-detail-desktop")

    # a cited document's page lists this one among those citing it, and its news timeline
    with page.expect_navigation():
        page.locator(".policy-links a", has_text="关于加快公共数据资源开发利用的意见").click()
    page_ready(page)
    assert DEMO_TITLE in page.locator(".policy-links").inner_text()
    assert page.locator(".timeline__article").count() >= 5
    assert page.locator(".policy-role").first.inner_text() in ("报道", "解读", "引用")
    citing = page.locator(".timeline__article", has_text=DEMO_TITLE)
    assert citing.locator(".policy-role").inner_text() == "引用"  # an official text citing it
    screenshot_save(page, folder=artifacts_dir, name="policy-timeline-desktop")


def test_on_a_phone_the_filters_fold_away_and_the_documents_come_first(phone_page, base_url, artifacts_dir):
    phone_page.goto(f"{base_url}/policy/")
    page_ready(phone_page)
    assert phone_page.locator(".policy-facets__toggle").get_attribute("open") is None
    assert not phone_page.get_by_role("heading", name="发文机关").is_visible()
    first = phone_page.locator("li.policy-doc").first.bounding_box()
    assert first is not None and first["y"] < 844, "the first document must be on the first screen"
    width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the library is {width}px wide on a 390px phone"
    # what the reader sees first, before scrolling
    phone_page.screenshot(path=str(artifacts_dir / "policy-library-phone-first-screen.png"))
    phone_page.locator(".policy-facets__toggle summary").click()
    assert phone_page.get_by_role("heading", name="发文机关").is_visible()
    screenshot_save(phone_page, folder=artifacts_dir, name="policy-library-phone")

    phone_page.goto(f"{base_url}/policy/?q={DEMO_NUMBER_TYPED}")
    with phone_page.expect_navigation():
        phone_page.locator("li.policy-doc a.policy-doc__name").first.click()
    page_ready(phone_page)
    width = phone_page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the record page is {width}px wide on a 390px phone"
    screenshot_save(phone_page, folder=artifacts_dir, name="policy-detail-phone")
