"""Plain-text tables for the terminal (CJK characters take two columns)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def text_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in {"W", "F"} else 1 for ch in text)


def text_pad(text: str, width: int, *, right: bool = False) -> str:
    gap = max(0, width - text_width(text))
    return " " * gap + text if right else text + " " * gap


def table_render(*, header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool] = ()) -> str:
    widths = [text_width(cell) for cell in header]
    for row in rows:
        widths = [max(w, text_width(cell)) for w, cell in zip(widths, row, strict=True)]
    aligns = list(right) + [False] * (len(header) - len(right))

    def line(cells: Sequence[str]) -> str:
        return " | ".join(
            text_pad(cell, width, right=align)
            for cell, width, align in zip(cells, widths, aligns, strict=True)
        ).rstrip()

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
