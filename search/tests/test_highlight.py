"""Snippets: a window around the matches, found quickly in long texts too."""

from __future__ import annotations

from search.highlight import SNIPPET_CHARS, SNIPPET_SCAN_CHARS, text_snippet

FILLER = "会议强调要统筹推进各项工作。"


def test_a_match_early_in_a_long_text_gives_its_window():
    text = "开头说明零信任架构的要求。" + FILLER * 1000 + "结尾再提零信任。"
    html, plain = text_snippet(text=text, needles=["零信任"])
    assert "<mark>零信任</mark>架构" in html
    assert plain.endswith("…") and len(plain) <= SNIPPET_CHARS + 2


def test_a_match_only_beyond_the_first_part_is_still_found_and_marked():
    text = FILLER * (SNIPPET_SCAN_CHARS // len(FILLER) + 50) + "文末才出现的數據出境条款。" + FILLER * 20
    html, plain = text_snippet(text=text, needles=["数据出境"])
    assert "<mark>數據出境</mark>条款" in html  # marked on the characters as written
    assert plain.startswith("…") and "數據出境" in plain


def test_no_match_anywhere_gives_the_beginning():
    text = FILLER * 300
    html, plain = text_snippet(text=text, needles=["勒索软件"])
    assert plain.startswith(FILLER) and "<mark>" not in html
