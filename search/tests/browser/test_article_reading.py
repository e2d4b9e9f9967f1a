"""An article page in a browser: the body's headings rank below the title on desktop and phone."""

from __future__ import annotations

import pytest

from .test_screenshots import page_ready, screenshot_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A demo article whose body has "## …" section headings.
TITLE = "数据出境安全评估申报进入常态化，多地网信部门开设咨询窗口"


def font_px(page, selector: str) -> list[float]:
    return page.eval_on_selector_all(
        selector, "els => els.map(el => parseFloat(getComputedStyle(el).fontSize))"
    )


@pytest.mark.parametrize("which", ["page", "phone_page"])
def test_body_headings_are_smaller_than_the_title(request, base_url, artifacts_dir, which):
    from articles.models import Article

    tab = request.getfixturevalue(which)
    article = Article.objects.get(title=TITLE)
    tab.goto(f"{base_url}{article.get_absolute_url()}")
    page_ready(tab)
    (title,) = font_px(tab, ".article__header h1")
    headings = font_px(tab, ".article__body h1, .article__body h2, .article__body h3")
    assert headings, "the demo article has section headings"
    assert max(headings) < title, (headings, title)
    assert "收录时间" in tab.locator(".article").inner_text()
    screenshot_save(
        tab, folder=artifacts_dir, name=f"article-headings-{'phone' if which == 'phone_page' else 'desktop'}"
    )
