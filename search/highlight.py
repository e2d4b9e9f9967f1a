"""Highlighting from the database rows: titles and snippets with matched words in <mark>.

Matches are found in the analyser's normalised text (traditional, full-width and case
folded) and mapped back to the characters the reader sees, so they look the same
whichever engine answered.
"""

from __future__ import annotations

import html
import re

from zhtext.analysis import text_normalise

SNIPPET_CHARS = 120
# Matches are looked for in the first this many characters first: normalising whole long
# notices for a 120-character window was most of a results page's time (20 hits of the shared
# corpora: ~30 ms of ~45). A text with no match there is scanned whole.
SNIPPET_SCAN_CHARS = 2000


def _spans(norm: str, needles: list[str]) -> list[tuple[int, int, str]]:
    spans = []
    for needle in dict.fromkeys(n for n in needles if n.strip()):
        latin = needle.isascii()
        start = norm.find(needle)
        while start >= 0:
            end = start + len(needle)
            # Latin needles must not match inside a longer Latin word (5g in 15g).
            if not latin or (
                (start == 0 or not norm[start - 1].isascii() or not norm[start - 1].isalnum())
                and (end >= len(norm) or not norm[end].isascii() or not norm[end].isalnum())
            ):
                spans.append((start, end, needle))
            start = norm.find(needle, end)
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    merged: list[tuple[int, int, str]] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], span[1]), last[2])
        else:
            merged.append(span)
    return merged


def _render(text: str, offsets: list[int], spans, start: int, end: int) -> str:
    """HTML for original ``text[start:end]`` with normalised ``spans`` marked."""
    parts = []
    cursor = start
    for s, e, _ in spans:
        o_start, o_end = offsets[s], offsets[e]
        if o_end <= start or o_start >= end:
            continue
        o_start, o_end = max(o_start, start), min(o_end, end)
        parts.append(html.escape(text[cursor:o_start]))
        parts.append(f"<mark>{html.escape(text[o_start:o_end])}</mark>")
        cursor = o_end
    parts.append(html.escape(text[cursor:end]))
    return "".join(parts)


def text_highlight(*, text: str, needles: list[str]) -> str:
    """The whole of ``text``, escaped, with every match wrapped in <mark>."""
    if not needles or not text:
        return html.escape(text)
    norm, offsets = text_normalise(text)
    return _render(text, offsets, _spans(norm, needles), 0, len(text))


def text_snippet(*, text: str, needles: list[str], size: int = SNIPPET_CHARS) -> tuple[str, str]:
    """(html, plain) window of about ``size`` characters around the densest matches."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return "", ""
    spans = []
    offsets: list[int] = []
    if needles:
        scanned = text[:SNIPPET_SCAN_CHARS]
        norm, offsets = text_normalise(scanned)
        spans = _spans(norm, needles)
        if not spans and len(scanned) < len(text):
            norm, offsets = text_normalise(text)
            spans = _spans(norm, needles)
    if not spans:
        plain = text[:size] + ("…" if len(text) > size else "")
        return html.escape(plain), plain
    best_start, best_score = offsets[spans[0][0]], -1
    for i, span in enumerate(spans[:200]):
        anchor = offsets[span[0]]
        window = {s[2] for s in spans[i:] if offsets[s[0]] < anchor + size - 20}
        if len(window) > best_score:
            best_start, best_score = anchor, len(window)
    start = max(best_start - size // 5, 0)
    end = min(start + size, len(text))
    start = max(min(start, end - size), 0)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    body_html = _render(text, offsets, spans, start, end)
    return f"{prefix}{body_html}{suffix}", f"{prefix}{text[start:end]}{suffix}"
