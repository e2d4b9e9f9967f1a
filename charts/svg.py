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

from .months import month_label, month_short_label, months_window

CHART_WIDTH = 640
CHART_HEIGHT = 180
# Room for the value above the tallest bar, the labels under the axis and the scale's
# numbers at the left.
TOP_PAD = 18
BOTTOM_PAD = 22
LEFT_PAD = 30
SIDE_PAD = 4
# Labels closer than this (in SVG units) would overlap; only every n-th is written then.
MIN_LABEL_GAP = 44
BAR_GAP_RATIO = 0.2
# A bar is never wider than this: one or two months must not fill the chart with slabs.
MAX_BAR_WIDTH = 36
# Ticks of the value scale (besides 0): at most about this many, at round numbers.
SCALE_TICKS = 4


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


def scale_ticks(*, peak: int, ticks: int = SCALE_TICKS) -> list[int]:
    """Round values for the value scale, 0 first, the last at or just above ``peak``:
    7 → [0, 2, 4, 6, 8]; 1 → [0, 1]; 120 → [0, 50, 100, 150]."""
    if peak <= 0:
        return [0]
    raw = max(peak / ticks, 1)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = -(-peak // step) * step
    return list(range(0, top + 1, step))


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
    """An accessible ``<svg role="img">`` bar chart of ``series`` (label, value), in order,
    with a value scale at the left (a few round ticks and their grid lines).

    ``label`` shortens a label for the axis, ``long_label`` spells it out for the tooltip
    and screen readers, ``link`` gives each bar's href (a bar and its labels are one link).
    Every other axis label is marked minor (``bar-chart__label--minor``): a phone's
    stylesheet draws the labels larger and leaves those out.
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
    left = LEFT_PAD
    if not series:
        parts.append(
            f'<line class="bar-chart__axis" x1="{left}" y1="{baseline}" x2="{width - SIDE_PAD}" '
            f'y2="{baseline}" stroke="#8c959f" stroke-width="1"/>'
        )
        parts.append(
            f'<text class="bar-chart__empty" x="{width / 2:g}" y="{baseline / 2:g}" text-anchor="middle" '
            f'fill="#59636e" font-size="14">暂无数据</text>'
        )
        parts.append("</svg>")
        return "".join(parts)

    ticks = scale_ticks(peak=peak)
    scale_top = ticks[-1] or 1
    for tick in ticks:
        y = baseline - tick / scale_top * plot_height
        if tick:
            parts.append(
                f'<line class="bar-chart__grid" x1="{left}" y1="{_num(y)}" x2="{width - SIDE_PAD}" '
                f'y2="{_num(y)}" stroke="#d0d7de" stroke-width="1" stroke-dasharray="2 3"/>'
            )
        parts.append(
            f'<text class="bar-chart__tick" x="{left - 6}" y="{_num(y + 4)}" text-anchor="end" '
            f'font-size="12" fill="#59636e">{tick}</text>'
        )
    parts.append(
        f'<line class="bar-chart__axis" x1="{left}" y1="{baseline}" x2="{width - SIDE_PAD}" '
        f'y2="{baseline}" stroke="#8c959f" stroke-width="1"/>'
    )
    plot_width = width - left - SIDE_PAD
    slot = min(plot_width / len(series), MAX_BAR_WIDTH / (1 - BAR_GAP_RATIO))
    bar_width = max(slot * (1 - BAR_GAP_RATIO), 1.0)
    # bars that do not fill the width sit in its middle
    start = left + (plot_width - slot * len(series)) / 2
    step = _label_step(count=len(series), slot=slot)
    # Value labels only where they fit above a bar; the tooltip always has the exact number.
    show_values = slot >= 18
    for index, (key, value) in enumerate(series):
        x = start + index * slot + (slot - bar_width) / 2
        bar_height = (value / scale_top) * plot_height
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
                f'font-size="12" fill="#1f2328">{value}</text>'
            )
        if index % step == 0:
            minor = " bar-chart__label--minor" if (index // step) % 2 else ""
            bar.append(
                f'<text class="bar-chart__label{minor}" x="{_num(centre)}" y="{height - 6}" '
                f'text-anchor="middle" font-size="12" fill="#59636e">{escape(label(key))}</text>'
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


def search_trend_chart(*, months: list, query_link: Callable[[str], str], title: str) -> str:
    """Chart of a search's month facet (FacetValue list): the same window as every month
    chart, ending at the results' last month, quiet months as 0.

    A facet list cut at its limit still holds every month of the window: it lists the
    newest months first, and its limit is well over the window's length."""
    series = months_window(counts=[(fv.value, fv.count) for fv in months])
    return bar_chart_svg(
        series=series,
        title=title,
        link=query_link,
        label=month_short_label,
        long_label=month_label,
        height=150,
    )
