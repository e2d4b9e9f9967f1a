"""Full-page screenshots for people to look at, taken only once Chinese text really renders.

A machine without a Chinese font draws every character as the same empty box; such a
screenshot is useless, so each one is preceded by a check that fails with the fix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import cjk_font_families
from .helpers import SEARCH_TERM, glyphs_render, platform_fonts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_FONT_HELP = "没有可用的中文字体：请安装 Debian 的 fonts-noto-cjk（.ci/run 和 make system-deps 会安装）"


def page_ready(page) -> None:
    page.wait_for_load_state("load")
    page.evaluate("() => document.fonts.ready.then(() => true)")


def screenshot_save(page, *, folder: Path, name: str) -> Path:
    assert glyphs_render(page), f"{name}: Chinese characters draw as empty boxes. {NO_FONT_HELP}"
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"{path} is suspiciously small"
    return path


def policy_article_pk() -> int:
    """An article that mentions a policy document, so its page shows every aside block."""
    from articles.models import Article

    article = (
        Article.objects.filter(status=Article.Status.PUBLISHED, policy_mentions__isnull=False)
        .order_by("-published_on", "pk")
        .first()
    )
    if article is None:
        article = Article.objects.filter(status=Article.Status.PUBLISHED).order_by("-published_on").first()
    return article.pk


def test_a_chinese_font_is_installed_and_used_for_page_text(page, base_url):
    families = cjk_font_families()
    assert families, NO_FONT_HELP
    page.goto(f"{base_url}/")
    page_ready(page)

    assert glyphs_render(page), f"Chinese characters draw as empty boxes. {NO_FONT_HELP}"
    used = platform_fonts(page, selector="h1")
    assert any(name in families or "CJK" in name for name in used), (
        f"the heading is drawn with {used}, none of which has Chinese glyphs ({families[:3]} are installed)"
    )


def test_desktop_screenshots_of_home_search_and_article(page, base_url, artifacts_dir):
    page.goto(f"{base_url}/")
    page_ready(page)
    screenshot_save(page, folder=artifacts_dir, name="home-desktop")

    page.goto(f"{base_url}/search/?q={SEARCH_TERM}")
    facet = page.locator("section.facet", has=page.get_by_role("heading", name="来源", exact=True))
    with page.expect_navigation():
        facet.locator("a.facet__link").first.click()
    page_ready(page)
    assert page.locator("a.facet__link.is-selected").count() == 1
    screenshot_save(page, folder=artifacts_dir, name="search-desktop")

    page.goto(f"{base_url}/articles/{policy_article_pk()}/")
    page_ready(page)
    screenshot_save(page, folder=artifacts_dir, name="article-desktop")

    policies = page.locator(".article-policies a")
    if policies.count():
        with page.expect_navigation():
            policies.first.click()
        page_ready(page)
        screenshot_save(page, folder=artifacts_dir, name="policy-desktop")


def test_phone_screenshots_of_search_and_article(phone_page, base_url, artifacts_dir):
    # A short page of results keeps the full-page image readable.
    phone_page.goto(f"{base_url}/search/?q={SEARCH_TERM}&page_size=5")
    page_ready(phone_page)
    screenshot_save(phone_page, folder=artifacts_dir, name="search-phone")

    phone_page.goto(f"{base_url}/articles/{policy_article_pk()}/")
    page_ready(phone_page)
    screenshot_save(phone_page, folder=artifacts_dir, name="article-phone")
