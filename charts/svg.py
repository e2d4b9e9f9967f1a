"""Small bar charts drawn on the server as inline SVG: readable without JavaScript.

The SVG carries no scripts, no event handlers and no style attributes: colours come from
presentation attributes and CSS classes (``.bar-chart`` in the page stylesheets), so a
strict Content-Security-Policy can stay strict. Every bar has a text label and a
``<title>`` with its exact value; bars can be links (to the search for that month).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from html import escape

from .months import month_label, month_short_label, months_fill

CHART_WIDTH = 640
CHART_HEIGHT = 180
# Room for the value above the tallest bar and the labels under the axis.
TOP_PAD = 18
BOTTOM_PAD = 22
SIDE_PAD = 4
# Labels closer than this (in SVG units) would overlap; only every n-th is written then.
MIN_LABEL_GAP = 44
BAR_GAP_RATIO = 0.2


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _label_step(*, count: int, slot: float) -> int:
    step = 1
    while slot * step < MIN_LABEL_GAP and step < count:
        step += 1
    return step


def bar_chart_svg(
    *,
    series: list[tuple[str, int]],
    title: str,
    width: int = CHART_WIDTH,
    height: int = CHART_HEIGHT,
    link: Callable[[str], str] | None = None,
    label: Callable[[str], str] | None = None,
    long_label: Callable[[str], str] | None = None,
    unit: str = "篇",
    chart_id: str = "",
) -> str:
    """An accessible ``<svg role="img">`` bar chart of ``series`` (label, value), in order.

    ``label`` shortens a label for the axis, ``long_label`` spells it out for the tooltip
    and screen readers, ``link`` gives each bar's href (a bar and its labels are one link).
    """
    label = label or str
    long_label = long_label or str
    if not chart_id:
        digest = hashlib.sha1(repr((title, series)).encode("utf-8")).hexdigest()[:10]
        chart_id = f"chart-{digest}"
    title_id = f"{chart_id}-title"
    desc_id = f"{chart_id}-desc"
    total = sum(value for _, value in series)
    peak = max((value for _, value in series), default=0)
    if series:
        top = max(series, key=lambda item: item[1])
        first, last = long_label(series[0][0]), long_label(series[-1][0])
        summary = f"{first}至{last}共 {total} {unit}，最多的是{long_label(top[0])}（{top[1]} {unit}）。"
    else:
        summary = "暂无数据。"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{_attr(title_id)} {_attr(desc_id)}">',
        f'<title id="{_attr(title_id)}">{escape(title)}</title>',
        f'<desc id="{_attr(desc_id)}">{escape(summary)}</desc>',
    ]
    baseline = height - BOTTOM_PAD
    plot_height = baseline - TOP_PAD
    parts.append(
        f'<line class="bar-chart__axis" x1="{SIDE_PAD}" y1="{baseline}" x2="{width - SIDE_PAD}" '
        f'y2="{baseline}" stroke="#8c959f" stroke-width="1"/>'
    )
    if not series:
        parts.append(
            f'<text class="bar-chart__empty" x="{width / 2:g}" y="{baseline / 2:g}" text-anchor="middle" '
            f'fill="#59636e" font-size="14">暂无数据</text>'
        )
        parts.append("</svg>")
        return "".join(parts)

    slot = (width - 2 * SIDE_PAD) / len(series)
    bar_width = max(slot * (1 - BAR_GAP_RATIO), 1.0)
    step = _label_step(count=len(series), slot=slot)
    # Value labels only where they fit above a bar; the tooltip always has the exact number.
    show_values = slot >= 18
    for index, (key, value) in enumerate(series):
        x = SIDE_PAD + index * slot + (slot - bar_width) / 2
        bar_height = (value / peak) * plot_height if peak else 0.0
        if value and bar_height < 1:
            bar_height = 1.0
        y = baseline - bar_height
        centre = x + bar_width / 2
        tooltip = f"{long_label(key)}：{value} {unit}"
        bar = [
            f'<rect class="bar-chart__bar" x="{_num(x)}" y="{_num(y)}" width="{_num(bar_width)}" '
            f'height="{_num(bar_height)}" fill="#a61b1b"><title>{escape(tooltip)}</title></rect>'
        ]
        if show_values and value:
            bar.append(
                f'<text class="bar-chart__value" x="{_num(centre)}" y="{_num(y - 4)}" text-anchor="middle" '
                f'font-size="11" fill="#1f2328">{value}</text>'
            )
        if index % step == 0:
            bar.append(
                f'<text class="bar-chart__label" x="{_num(centre)}" y="{height - 6}" text-anchor="middle" '
                f'font-size="11" fill="#59636e">{escape(label(key))}</text>'
            )
        body = "".join(bar)
        href = link(key) if link else ""
        if href:
            parts.append(
                f'<a class="bar-chart__link" href="{_attr(href)}" aria-label="{_attr(tooltip)}">{body}</a>'
            )
        else:
            parts.append(f'<g class="bar-chart__item">{body}</g>')
    parts.append("</svg>")
    return "".join(parts)


def search_trend_chart(*, months: list, query_link: Callable[[str], str], capped: bool, title: str) -> str:
    """Chart of a search's month facet (FacetValue list), oldest month first.

    Quiet months between are filled with 0 unless the facet list was cut at its limit:
    then a missing month may just be a small one, and a 0 would be a wrong number.
    """
    counts = [(fv.value, fv.count) for fv in months]
    if capped:
        series = sorted(counts)
    else:
        series = months_fill(counts=counts)
    return bar_chart_svg(
        series=series,
        title=title,
        link=query_link,
        label=month_short_label,
        long_label=month_label,
        height=150,
    )
