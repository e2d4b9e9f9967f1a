"""The article form as an editor uses it, desktop and phone: a Chinese tag autocomplete (not
Django's untranslated two-box filter) and a raw-file panel that stays inside the page."""

from __future__ import annotations

import pytest

from .test_content_security_policy import staff_login, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNTRANSLATED = ("Choose all", "Remove all", "Available tags", "Chosen tags", "Filter")


@pytest.mark.parametrize("which", ["page", "phone_page"])
def test_the_article_form_picks_tags_in_chinese_and_keeps_the_raw_file_inside_the_page(
    request, base_url, artifacts_dir, which
) -> None:
    from articles.models import Article, Tag

    tab = request.getfixturevalue(which)
    Tag.objects.get_or_create(name="数据出境")
    # the file with the longest unbroken line (a URL), the one that pushed the panel out
    article = max(
        Article.objects.all(), key=lambda a: max((len(line) for line in a.raw_text.splitlines()), default=0)
    )
    staff_login(tab, base_url=base_url)
    visit(tab, url=f"{base_url}/admin/articles/article/{article.pk}/change/")

    form = tab.locator("#article_form").inner_text()
    for words in UNTRANSLATED:
        assert words not in form, words
    tab.locator(".field-tags .select2-selection").click()
    tab.keyboard.type("数据")
    option = tab.locator(".select2-results__option", has_text="数据出境")
    option.wait_for(state="visible")
    option.click()
    assert "数据出境" in tab.locator(".field-tags .select2-selection").inner_text()

    viewport = tab.viewport_size["width"]
    panel = tab.locator(".field-raw_text .readonly").bounding_box()
    assert panel is not None and panel["x"] + panel["width"] <= viewport + 1, (panel, viewport)
    width = tab.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport + 1, f"the form is {width}px wide in a {viewport}px window"
    name = "admin-article-form-" + ("phone" if which == "phone_page" else "desktop")
    tab.screenshot(path=str(artifacts_dir / f"{name}.png"), full_page=True)
