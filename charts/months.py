"""Month keys ("2024-05") and their labels, as the charts, the archive and the facets use them."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

# Every month chart (home topics, source and author pages, the search page) shows the same
# window, so a bar means the same stretch of time wherever a reader meets it.
CHART_MONTHS = 24


def month_label(value: str) -> str:
    """ "2024-05" → "2024年5月"; anything else unchanged."""
    year, _, month = value.partition("-")
    if year.isdigit() and month.isdigit():
        return f"{year}年{int(month)}月"
    return value


def month_short_label(value: str) -> str:
    """Axis label for a month: "24.05", short enough for thirty bars on a phone."""
    year, _, month = value.partition("-")
    if len(year) == 4 and year.isdigit() and month.isdigit():
        return f"{year[2:]}.{month}"
    return value


def months_fill(*, counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Month counts ("2024-05", n) in calendar order, with empty months in between as 0.

    A chart that skipped quiet months would make a gap of a year look like a month.
    """
    known: dict[tuple[int, int], int] = {}
    for key, value in counts:
        year, _, month = str(key).partition("-")
        if year.isdigit() and month.isdigit() and 1 <= int(month) <= 12:
            known[(int(year), int(month))] = known.get((int(year), int(month)), 0) + int(value)
    if not known:
        return []
    (year, month), end = min(known), max(known)
    out: list[tuple[str, int]] = []
    while (year, month) <= end:
        out.append((f"{year:04d}-{month:02d}", known.get((year, month), 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def months_ending(*, day: datetime.date, count: int) -> list[str]:
    """The ``count`` months up to and including the month of ``day``, oldest first."""
    year, month = day.year, day.month
    keys: list[str] = []
    for _ in range(count):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return keys[::-1]


def months_window(
    *, counts: Iterable[tuple[str, int]], end: str = "", count: int = CHART_MONTHS
) -> list[tuple[str, int]]:
    """``count`` months of counts ending at ``end`` ("2024-05"; by default the last month that
    has any), quiet months as 0: every chart the same number of bars of the same width."""
    known: dict[str, int] = {}
    for key, value in counts:
        known[str(key)] = known.get(str(key), 0) + int(value)
    months = [key for key in known if len(key) == 7 and key[:4].isdigit() and key[5:].isdigit()]
    last = end or max(months, default="")
    if not last:
        return []
    axis = months_ending(day=datetime.date(int(last[:4]), int(last[5:]), 1), count=count)
    return [(month, known.get(month, 0)) for month in axis]


def month_key(value: datetime.date | datetime.datetime | None) -> str:
    if value is None:
        return ""
    return f"{value.year:04d}-{value.month:02d}"
