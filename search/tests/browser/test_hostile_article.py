"""An article whose body carries script must render as text, with nothing executed."""

from __future__ import annotations

import pytest

from .conftest import HOSTILE_TITLE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def pwned(page) -> object:
    return page.evaluate("() => window.__pwned")


def test_a_hostile_article_renders_without_running_its_script(page, base_url, portal_data):
    page.goto(f"{base_url}/articles/{portal_data.hostile_pk}/")
    page.wait_for_load_state("load")

    assert page.locator("h1").first.inner_text().strip() == HOSTILE_TITLE
    body = page.locator(".article__body")
    assert "数据安全专项检查" in body.inner_text()
    assert pwned(page) is None
    assert body.locator("script, iframe, svg, form, object, embed").count() == 0
    assert body.locator("[style], [onerror], [onclick], [onload]").count() == 0
    hrefs = body.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert not [href for href in hrefs if href.strip().lower().startswith(("javascript:", "data:"))]

    # Clicking every link the article still shows must not run anything either.
    for text in ("点击领取数据安全手册", "另一个可疑链接", "数据链接", "点击这里查看数据安全检查结果"):
        target = page.get_by_text(text).first
        if target.count():
            target.click()
            page.wait_for_load_state("load")
            assert pwned(page) is None, f"clicking {text!r} ran script"
    assert page.guard.dialogs == []


def test_the_hostile_article_is_harmless_in_search_results_too(page, base_url):
    page.goto(f"{base_url}/search/?q=恶意脚本测试稿")
    page.wait_for_load_state("load")

    assert page.locator(".results .result").count() >= 1
    assert pwned(page) is None
    assert page.locator(".results script, .results img[onerror]").count() == 0
