"""The analyzer: normalisation, tokens, positions and offsets, identical at index and query time."""

from __future__ import annotations

from search.analysis import (
    query_segments,
    subword_analyzer,
    text_normalise,
    text_words,
    word_analyzer,
)


def test_normalisation_converts_script_width_case_and_brackets():
    norm, offsets = text_normalise("個人資料ＡＢＣ【2024】")
    assert norm == "个人资料abc〔2024〕"
    assert len(offsets) == len(norm) + 1


def test_offsets_point_back_to_the_original_text_when_lengths_change():
    text = "见㈱公司的网络安全"  # ㈱ expands to three characters under NFKC
    tokens = list(word_analyzer()(text, positions=True, chars=True))
    by_text = {t.text: (t.startchar, t.endchar) for t in tokens}
    start, end = by_text["网络安全"]
    assert text[start:end] == "网络安全"


def test_word_positions_are_consecutive_integers():
    tokens = [(t.text, t.pos) for t in word_analyzer()("数据要素市场，新质生产力发展", positions=True)]
    assert [p for _, p in tokens] == list(range(tokens[0][1], tokens[0][1] + len(tokens)))
    assert ("新质生产力", tokens[-2][1]) in tokens


def test_cve_ids_5g_and_document_numbers_stay_whole():
    words = text_words("CVE-2024-3094 影响 5G 网络，见国发（2024）1号")
    assert "cve-2024-3094" in words
    assert "5g" in words
    assert "〔2024〕1号" in words
    assert "2024" not in words


def test_subwords_cover_every_character_and_pair():
    texts = {t.text for t in subword_analyzer()("勒索软件")}
    assert {"勒", "索", "软", "件", "勒索", "索软", "软件"} <= texts


def test_index_and_query_analysis_agree():
    sample = "關鍵信息基礎設施安全保護"
    indexed = [t.text for t in word_analyzer()(sample, mode="index")]
    queried = [t.text for t in word_analyzer()(sample, mode="query")]
    assert indexed == queried == ["关键信息基础设施", "安全", "保护"]


def test_query_segments_split_scripts():
    assert query_segments("5G网络") == [("alnum", "5g"), ("cjk", "网络")]
