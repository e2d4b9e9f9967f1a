"""The analyzer: normalisation, tokens, positions and offsets, identical at index and query time."""

from __future__ import annotations

from search.engines.whoosh.analysis import TermLexicon, word_analyzer
from search.query import query_units
from zhtext.analysis import (
    cjk_cut,
    query_segments,
    script_simplify,
    text_normalise,
    text_terms,
    text_words,
)


def test_normalisation_converts_script_width_case_and_brackets():
    norm, offsets = text_normalise("個人隱私ＡＢＣ【2024】")
    assert norm == "个人隐私abc〔2024〕"
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


def test_a_part_of_a_word_expands_to_the_indexed_words_that_contain_it():
    lexicon = TermLexicon(["勒索软件", "心理健康", "增值税", "纳税人", "税", "cve-2024-3094", "〔2024〕1号"])
    assert lexicon.containing("勒索") == ["勒索软件"]
    assert set(lexicon.containing("税")) == {"增值税", "纳税人"}
    assert set(lexicon.containing("2024")) == {"cve-2024-3094", "〔2024〕1号"}
    assert lexicon.containing("软件") == ["勒索软件"]


def test_a_run_across_word_boundaries_is_spelled_out_over_indexed_words():
    lexicon = TermLexicon(["数据出境安全评估", "申报", "指南"])
    assert lexicon.spanning("安全评估申报") == [[["数据出境安全评估"], ["申报"]]]


def test_the_fast_segmenter_agrees_with_jieba():
    sample = "关键信息基础设施运营者应当履行安全保护义务设置专门安全管理机构并开展测评工作"
    ends = cjk_cut(sample)
    ours = [sample[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    from zhtext.analysis import _jieba

    assert ours == list(_jieba().cut(sample, HMM=False))
    assert text_terms(sample) == ours


def test_index_and_query_analysis_agree():
    sample = "關鍵信息基礎設施安全保護"
    indexed = [t.text for t in word_analyzer()(sample, mode="index")]
    queried = [t.text for t in word_analyzer()(sample, mode="query")]
    assert indexed == queried == ["关键信息基础设施", "安全", "保护"]


def test_query_segments_split_scripts():
    assert query_segments("5G网络") == [("alnum", "5g"), ("cjk", "网络")]


def test_traditional_runs_get_taiwan_and_hong_kong_wording():
    assert text_normalise("勒索軟體")[0] == "勒索软件"
    assert text_normalise("網路釣魚")[0] == "网络钓鱼"
    assert text_words("勒索軟體") == text_words("勒索软件")


def test_simplified_text_is_left_exactly_as_written():
    # tw2sp on mainland text would turn 文件 into 文档 and 程序 into 进程
    text = "应用程序读取配置文件，核心功能显著增强"
    assert script_simplify(text) == (text, None)
    mixed = "配置文件与記憶體"
    assert text_normalise(mixed)[0] == "配置文件与内存"


def test_offsets_survive_a_phrase_that_changes_length():
    text = "記憶體與軟體"
    norm, offsets = text_normalise(text)
    assert norm == "内存与软件"
    start = norm.index("软件")
    assert text[offsets[start] : offsets[start + 2]] == "軟體"
    assert text[offsets[0] : offsets[2]] == "記憶體"


def test_a_name_finds_its_numbered_variants():
    lexicon = TermLexicon(["apt28", "apt", "windows11", "5g", "cve-2024-3094"])
    assert lexicon.containing("apt") == ["apt28"]
    assert lexicon.containing("windows") == ["windows11"]
    assert lexicon.containing("5") == []


def test_unquoted_words_group_single_characters():
    assert query_units(words=["俄罗斯", "黑客"]) == [["俄罗斯"], ["黑客"]]
    assert query_units(words=["密", "评"]) == [["密", "评"]]
    assert query_units(words=["恶意软件", "包"]) == [["恶意软件", "包"]]
    assert query_units(words=["包", "恶意软件"]) == [["包", "恶意软件"]]


def test_without_the_c_segmenter_the_check_says_so_and_the_python_one_answers(monkeypatch):
    from search import checks
    from zhtext import analysis

    sample = "数据出境安全评估申报指南"
    built = analysis.native_cut_available()
    expected = analysis.cjk_cut_python(sample)
    for name in ("_native_cut", "_native_lexicon", "_lexicon"):
        monkeypatch.setattr(analysis, name, None)
    problems = [p for p in checks.search_settings_check(None) if p.id == "search.W004"]
    assert problems and "make native" in problems[0].hint
    assert cjk_cut(sample) == expected
    monkeypatch.undo()
    if built:
        assert not [p for p in checks.search_settings_check(None) if p.id == "search.W004"]
