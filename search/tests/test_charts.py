"""Server-side SVG bar charts: well-formed, accessible, escaped, no scripts or inline styles."""

from __future__ import annotations

import datetime
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlparse

import pytest

from charts.months import month_label, month_short_label, months_fill
from charts.svg import bar_chart_svg, search_trend_chart
from search.selectors import FacetValue

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def bars(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{SVG}rect"))


def texts(root: ET.Element, cls: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if cls in (t.get("class") or "").split()]


def test_it_draws_one_bar_per_value_with_heights_in_proportion() -> None:
    root = parse(bar_chart_svg(series=[("a", 2), ("b", 4), ("c", 0)], title="测试"))
    rects = bars(root)
    assert len(rects) == 3
    heights = [float(r.get("height")) for r in rects]
    assert heights[1] == 2 * heights[0]
    assert heights[2] == 0
    # all bars stand on the same baseline
    bottoms = {round(float(r.get("y")) + float(r.get("height")), 2) for r in rects}
    assert len(bottoms) == 1


def test_it_is_an_image_named_by_its_title_and_described_in_words() -> None:
    root = parse(
        bar_chart_svg(
            series=[("2024-04", 3), ("2024-05", 7)], title="每月文章数", long_label=month_label, unit="篇"
        )
    )
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title.text == "每月文章数"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "2024年4月至2024年5月共 10 篇" in desc.text
    assert "2024年5月（7 篇）" in desc.text
    # every bar tells its exact value on hover and to screen readers
    assert [r.find(f"{SVG}title").text for r in bars(root)] == ["2024年4月：3 篇", "2024年5月：7 篇"]


def test_each_bar_has_a_text_label_and_a_value() -> None:
    root = parse(bar_chart_svg(series=[("2024-04", 3), ("2024-05", 7)], title="t", label=month_short_label))
    assert texts(root, "bar-chart__label") == ["24.04", "24.05"]
    assert texts(root, "bar-chart__value") == ["3", "7"]


def test_bars_are_links_when_a_link_function_is_given() -> None:
    root = parse(
        bar_chart_svg(
            series=[("2024-05", 1), ("2024-06", 2)], title="t", link=lambda m: f"/search/?month={m}"
        )
    )
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/search/?month=2024-05", "/search/?month=2024-06"]
    assert all(a.find(f"{SVG}rect") is not None for a in links)


def test_text_and_links_are_escaped() -> None:
    hostile = '<script>alert(1)</script>"&'
    svg = bar_chart_svg(
        series=[(hostile, 1)], title=hostile, link=lambda _: '/search/?q="><script>x</script>&month=1'
    )
    root = parse(svg)  # would raise on broken markup
    assert "<script" not in svg
    assert root.find(f"{SVG}title").text == hostile
    assert texts(root, "bar-chart__label") == [hostile]
    assert next(root.iter(f"{SVG}a")).get("href") == '/search/?q="><script>x</script>&month=1'


def test_it_has_no_scripts_event_handlers_or_style_attributes() -> None:
    svg = bar_chart_svg(series=[("a", 1), ("b", 2)], title="t", link=lambda k: f"/x/{k}")
    root = parse(svg)
    for element in root.iter():
        assert element.tag != f"{SVG}script"
        assert "style" not in element.attrib
        assert not any(name.lower().startswith("on") for name in element.attrib)


def test_many_bars_get_thinned_labels_but_keep_every_bar() -> None:
    series = [(f"2023-{m:02d}", m) for m in range(1, 13)] + [(f"2024-{m:02d}", m) for m in range(1, 13)]
    root = parse(bar_chart_svg(series=series, title="t", width=300, label=month_short_label))
    assert len(bars(root)) == 24
    labels = texts(root, "bar-chart__label")
    assert 1 < len(labels) < 24
    assert labels[0] == "23.01"


def test_an_empty_series_says_there_is_no_data() -> None:
    root = parse(bar_chart_svg(series=[], title="t"))
    assert bars(root) == []
    assert texts(root, "bar-chart__empty") == ["暂无数据"]
    assert root.find(f"{SVG}desc").text == "暂无数据。"


def test_months_are_filled_in_calendar_order_across_a_new_year() -> None:
    assert months_fill(counts=[("2024-02", 5), ("2023-11", 2)]) == [
        ("2023-11", 2),
        ("2023-12", 0),
        ("2024-01", 0),
        ("2024-02", 5),
    ]
    assert months_fill(counts=[("bad", 3)]) == []


def test_the_search_chart_shows_the_common_window_ending_at_the_last_month_and_links_each_month() -> None:
    from charts.months import CHART_MONTHS

    facet = [FacetValue("2024-06", 9, False), FacetValue("2024-03", 4, False), FacetValue("2024-05", 1, True)]
    root = parse(search_trend_chart(months=facet, query_link=lambda m: f"?q=x&month={m}", title="t"))
    hrefs = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert len(hrefs) == CHART_MONTHS == 24
    assert hrefs[0] == "?q=x&month=2022-07" and hrefs[-4:] == [
        "?q=x&month=2024-03",
        "?q=x&month=2024-04",
        "?q=x&month=2024-05",
        "?q=x&month=2024-06",
    ]
    heights = [float(r.get("height")) for r in bars(root)]
    assert heights[-3] == 0 and heights[-1] > heights[-4] > heights[-2] > 0


def test_every_month_chart_shows_the_same_window() -> None:
    from charts.months import CHART_MONTHS, months_window

    one = months_window(counts=[("2025-03", 1)])
    assert len(one) == CHART_MONTHS and one[-1] == ("2025-03", 1) and sum(n for _, n in one) == 1
    assert months_window(counts=[]) == []
    assert months_window(counts=[("2025-03", 1)], end="2025-06")[-1] == ("2025-06", 0)


# --- the chart on the search page ------------------------------------------------------------


@pytest.fixture
def indexed(transactional_db: None):
    from django.db import transaction
    from haystack import connections

    from articles.tests.factories import article_make

    backend = connections["default"].get_backend()
    backend.clear()
    with transaction.atomic():
        for month, count in ((1, 2), (3, 4)):
            for n in range(count):
                article_make(
                    title=f"个人信息保护执法动态{month}-{n}",
                    body="个人信息保护执法检查。",
                    source="执法观察" if n % 2 else "合规周刊",
                    published=datetime.date(2024, month, 1 + n),
                )
        article_make(title="算力网络规划", body="算力网络。", published=datetime.date(2024, 2, 1))
    yield
    backend.clear()


def page_chart(html: str) -> ET.Element:
    match = re.search(r'<details class="trend".*?(<svg .*?</svg>)', html, flags=re.S)
    assert match, "no trend chart on the page"
    return ET.fromstring(match.group(1))


def test_the_search_page_charts_matching_articles_per_month_above_the_results(client, indexed) -> None:
    html = client.get("/search/", {"q": "个人信息保护", "source": "合规周刊"}).content.decode()
    root = page_chart(html)
    assert html.index('class="trend"') < html.index('class="results"')
    assert [r.find(f"{SVG}title").text for r in bars(root)][-3:] == [
        "2024年1月：1 篇",
        "2024年2月：0 篇",
        "2024年3月：2 篇",
    ]
    # each bar is the same search narrowed to its month, from the first page
    href = list(root.iter(f"{SVG}a"))[-3].get("href")
    query = parse_qs(urlparse(href).query)
    assert query == {"q": ["个人信息保护"], "source": ["合规周刊"], "month": ["2024-01"]}
    narrowed = client.get(href).content.decode()
    assert "共 1 条结果" in narrowed


def test_a_search_without_results_has_no_chart(client, indexed) -> None:
    html = client.get("/search/", {"q": "完全不存在的词语组合"}).content.decode()
    assert 'class="trend"' not in html


def test_the_value_scale_has_a_few_round_labelled_ticks_from_zero() -> None:
    from charts.svg import scale_ticks

    assert scale_ticks(peak=7) == [0, 2, 4, 6, 8]
    assert scale_ticks(peak=3) == [0, 1, 2, 3]
    assert scale_ticks(peak=1) == [0, 1]
    assert scale_ticks(peak=120) == [0, 50, 100, 150]
    assert scale_ticks(peak=0) == [0]
    root = parse(bar_chart_svg(series=[("a", 2), ("b", 7)], title="t"))
    assert texts(root, "bar-chart__tick") == ["0", "2", "4", "6", "8"]
    # the tallest bar reaches 7/8 of the scale, not the top
    rects = bars(root)
    grid = [
        float(line.get("y1")) for line in root.iter(f"{SVG}line") if line.get("class") == "bar-chart__grid"
    ]
    top_of_scale = min(grid)
    baseline = max(float(r.get("y")) + float(r.get("height")) for r in rects)
    assert abs((baseline - float(rects[1].get("y"))) / (baseline - top_of_scale) - 7 / 8) < 0.01


def test_few_months_get_bars_of_a_sensible_width_in_the_middle() -> None:
    from charts.svg import CHART_WIDTH, MAX_BAR_WIDTH

    (one,) = bars(parse(bar_chart_svg(series=[("2024-05", 1)], title="t")))
    assert float(one.get("width")) <= MAX_BAR_WIDTH
    middle = float(one.get("x")) + float(one.get("width")) / 2
    assert CHART_WIDTH * 0.4 < middle < CHART_WIDTH * 0.6
    many = bars(parse(bar_chart_svg(series=[(f"m{i}", i) for i in range(24)], title="t")))
    assert all(float(r.get("width")) < MAX_BAR_WIDTH for r in many)


def test_every_other_axis_label_is_minor_so_a_phone_can_leave_it_out() -> None:
    root = parse(
        bar_chart_svg(series=[(f"2024-{m:02d}", m) for m in range(1, 13)], title="t", label=month_short_label)
    )
    labels = [t for t in root.iter(f"{SVG}text") if "bar-chart__label" in (t.get("class") or "")]
    minor = [t for t in labels if "bar-chart__label--minor" in t.get("class")]
    assert labels and 0 < len(minor) < len(labels)
