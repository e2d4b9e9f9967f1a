"""Month charts in a browser: labels readable on a phone and a desktop, a value scale, the
same window everywhere."""

from __future__ import annotations

import pytest

from .helpers import SEARCH_TERM
from .test_screenshots import page_ready, screenshot_save

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Rendered size of each shown label: its font size in SVG units times the drawing's scale.
LABEL_SIZES = """() => Array.from(document.querySelectorAll('.bar-chart__label, .bar-chart__tick'))
  .filter(t => getComputedStyle(t).display !== 'none' && t.getBoundingClientRect().width > 0)
  .map(t => parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a)"""


def chart_pages(base_url: str) -> list[tuple[str, str]]:
    from articles.models import Source

    source = Source.objects.filter(articles__isnull=False).order_by("pk").first()
    return [
        ("home", f"{base_url}/"),
        ("search", f"{base_url}/search/?q={SEARCH_TERM}"),
        ("source", f"{base_url}/sources/{source.pk}/"),
    ]


@pytest.mark.parametrize("which", ["page", "phone_page"])
def test_chart_labels_are_readable_and_every_chart_has_a_scale_and_the_same_window(
    request, base_url, artifacts_dir, which
) -> None:
    tab = request.getfixturevalue(which)
    for name, url in chart_pages(base_url):
        tab.goto(url)
        page_ready(tab)
        for details in tab.locator("details.trend:not([open])").all():
            details.locator("summary").click()  # (folded on a phone)
        sizes = tab.evaluate(LABEL_SIZES)
        assert sizes, f"{name}: no chart labels shown"
        assert min(sizes) >= 11, f"{name}: labels drawn at {min(sizes):.1f}px"
        counts = tab.eval_on_selector_all(
            ".bar-chart", "svgs => svgs.map(s => s.querySelectorAll('rect').length)"
        )
        assert counts and set(counts) == {24}, f"{name}: {counts} months"
        assert tab.locator(".bar-chart__tick").count() >= 2, name
    screenshot_save(
        tab, folder=artifacts_dir, name=f"charts-source-{'phone' if which == 'phone_page' else 'desktop'}"
    )
