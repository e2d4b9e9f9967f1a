from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from articles.policy_refs import (
    _DOC_NUMBER,
    PolicyRef,
    doc_number_matches,
    extract_policy_refs,
    normalise_doc_number,
)


def texts(text: str, kind: str | None = None) -> list[str]:
    return [ref.text for ref in extract_policy_refs(text=text) if kind is None or ref.kind == kind]


# --- document numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("国发〔2024〕1号", "国发〔2024〕1号"),
        ("国办发〔2023〕12号", "国办发〔2023〕12号"),
        ("工信部网安〔2023〕168号", "工信部网安〔2023〕168号"),
        ("网信办发〔2022〕3号", "网信办发〔2022〕3号"),
        ("中发〔2021〕5号", "中发〔2021〕5号"),
        ("国家数据局发〔2024〕2号", "国家数据局发〔2024〕2号"),
        ("国发[2024]1号", "国发〔2024〕1号"),
        ("国发［2024］1号", "国发〔2024〕1号"),
        ("国发(2024)1号", "国发〔2024〕1号"),
        ("国发（2024）1号", "国发〔2024〕1号"),
        ("国发【2024】1号", "国发〔2024〕1号"),
        ("国发﹝2024﹞1号", "国发〔2024〕1号"),
        ("国发 〔 2024 〕 1 号", "国发〔2024〕1号"),
        ("国发\u3000〔2024〕\u30001号", "国发〔2024〕1号"),
        ("国发〔２０２４〕１号", "国发〔2024〕1号"),
        ("国办发〔2023〕第12号", "国办发〔2023〕12号"),
        ("国办发〔2023〕012号", "国办发〔2023〕12号"),
        ("  国办发 ［２０２３］ 12 号 ", "国办发〔2023〕12号"),
    ],
)
def test_it_normalises_document_number_variants(raw: str, expected: str) -> None:
    assert normalise_doc_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "〔2024〕1号",
        "发〔2024〕1号",
        "国发〔24〕1号",
        "国发〔2024〕号",
        "国发〔2024〕0号",
        "国发〔1024〕3号",
        "国发2024年1号",
        "第1号",
        "",
    ],
)
def test_it_rejects_strings_that_are_not_document_numbers(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_doc_number(raw)


def test_it_finds_document_numbers_in_running_text() -> None:
    text = (
        "近日，国务院印发通知（国发〔2024〕1号），要求各地对照国办发[2023]12号落实责任；"
        "工信部网安（２０２３）７号和网信办发【2022】3号同时废止。"
    )
    assert texts(text, kind="number") == [
        "国发〔2024〕1号",
        "国办发〔2023〕12号",
        "工信部网安〔2023〕7号",
        "网信办发〔2022〕3号",
    ]


def test_it_separates_the_issuer_from_the_words_before_it() -> None:
    text = (
        "根据中发〔2021〕5号，按照国家数据局发〔2024〕2号和财税〔2023〕5号的要求，"
        "人民银行发布银发〔2022〕8号。"
    )
    assert texts(text, kind="number") == [
        "中发〔2021〕5号",
        "国家数据局发〔2024〕2号",
        "财税〔2023〕5号",
        "银发〔2022〕8号",
    ]


def test_it_keeps_the_raw_number_as_written() -> None:
    (ref,) = extract_policy_refs(text="依据国发 [２０２４] 1 号执行")
    assert ref == PolicyRef(kind="number", text="国发〔2024〕1号", raw="国发 [２０２４] 1 号")


def test_it_ignores_a_year_in_brackets_without_an_issuer() -> None:
    assert extract_policy_refs(text="见〔2024〕5号。另见（2023）12号，以及 [2022] 3号。") == []


# --- titles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "数据安全法",
        "中华人民共和国个人信息保护法",
        "关键信息基础设施安全保护条例",
        "网络产品安全漏洞管理规定",
        "数据出境安全评估办法",
        "关于加强数据资产管理的指导意见",
        "关于开展数据安全检查工作的通知",
        "关于构建数据基础制度更好发挥数据要素作用的决定",
        "数字经济发展规划",
        "数据安全事件应急处置方案",
        "人工智能伦理审查指南",
        "数据分类分级国家标准",
        "国家信息化发展纲要",
        "个人信息出境认证实施细则",
        "重要数据识别目录",
        "数据出境负面清单",
        "网络安全事件报告指引",
        "数据安全技术基本要求",
        "数据要素三年行动计划",
    ],
)
def test_it_recognises_policy_titles_by_their_ending(title: str) -> None:
    assert texts(f"文章提到《{title}》的有关内容。") == [title]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("《数据安全管理办法（试行）》", "数据安全管理办法(试行)"),
        ("《个人信息保护合规审计办法（征求意见稿）》", "个人信息保护合规审计办法(征求意见稿)"),
        ("《网络安全标准实践指南（2024年版）》", "网络安全标准实践指南(2024年版)"),
        ("《数字化转型行动计划（2024—2026年）》", "数字化转型行动计划(2024—2026年)"),
        ("《 数据安全法 》", "数据安全法"),
        ("《\u3000数据安全法\u3000》", "数据安全法"),
        ("《数据 安全法》", "数据安全法"),
        ("《**数据安全法**》", "数据安全法"),
        ("《[数据安全法](https://www.example.gov.cn/law.html)》", "数据安全法"),
    ],
)
def test_it_normalises_titles(written: str, expected: str) -> None:
    assert texts(f"依据{written}开展工作") == [expected]


def test_it_keeps_the_raw_title_as_written() -> None:
    (ref,) = extract_policy_refs(text="《 数据安全管理办法（试行） 》")
    assert ref == PolicyRef(kind="title", text="数据安全管理办法(试行)", raw=" 数据安全管理办法（试行） ")


def test_it_finds_a_title_quoted_inside_another_title() -> None:
    text = "《国家网信办关于印发〈数据出境申报指南〉的通知》已经发布。"
    assert texts(text) == ["国家网信办关于印发〈数据出境申报指南〉的通知", "数据出境申报指南"]


def test_it_treats_nested_double_angle_quotes_like_single_ones() -> None:
    text = "《关于印发《数据出境申报指南》的通知》"
    assert texts(text) == ["关于印发〈数据出境申报指南〉的通知", "数据出境申报指南"]


@pytest.mark.parametrize(
    "title",
    [
        "人民日报",
        "中国信息安全",
        "环球时报",
        "三体",
        "流浪地球",
        "孤勇者",
        "算法导论",
        "孙子兵法",
        "高效学习方法",
        "机器学习算法",
        "书法",
        "法",
        "通知",
        "网信中国",
        "The Dark Side of Function Calling",
    ],
)
def test_it_ignores_titles_that_are_not_policy_documents(title: str) -> None:
    assert extract_policy_refs(text=f"据《{title}》报道，有关内容引发关注。") == []


def test_it_ignores_over_long_titles() -> None:
    long_title = "关于" + "进一步加强和改进" * 8 + "工作的通知"
    assert len(long_title) > 60
    assert extract_policy_refs(text=f"《{long_title}》") == []


def test_it_ignores_titles_split_across_lines() -> None:
    assert extract_policy_refs(text="《数据安全\n管理办法》") == []


# --- order and duplicates -----------------------------------------------------------------------


def test_it_lists_each_reference_once_in_order_of_first_mention() -> None:
    text = (
        "《数据安全法》明确了基本制度。国办发〔2023〕12号提出要求，"
        "随后《数据安全法》再次被引用，国办发［2023］12号与《 数据安全法 》相互衔接，"
        "《网络数据安全管理条例》进一步细化。国办发(2023)12号。"
    )
    refs = extract_policy_refs(text=text)
    assert [(ref.kind, ref.text) for ref in refs] == [
        ("title", "数据安全法"),
        ("number", "国办发〔2023〕12号"),
        ("title", "网络数据安全管理条例"),
    ]
    # The first spelling met is the one kept as raw.
    assert refs[1].raw == "国办发〔2023〕12号"


def test_it_orders_titles_and_numbers_together_by_position() -> None:
    text = "国发〔2024〕1号之后发布了《数据出境安全评估办法》（网信办令〔2022〕11号）。"
    assert texts(text) == ["国发〔2024〕1号", "数据出境安全评估办法", "网信办令〔2022〕11号"]


def test_it_returns_nothing_for_empty_text() -> None:
    assert extract_policy_refs(text="") == []


def test_refs_are_immutable() -> None:
    (ref,) = extract_policy_refs(text="《数据安全法》")
    with pytest.raises(AttributeError):
        ref.text = "其他"  # type: ignore[misc]


# --- real corpus --------------------------------------------------------------------------------


@pytest.mark.corpus
def test_it_finds_policy_refs_in_the_real_corpus(corpus_dir: Path) -> None:
    counts: Counter[PolicyRef] = Counter()
    articles_with_refs = 0
    for path in sorted(corpus_dir.glob("*.md")):
        refs = extract_policy_refs(text=path.read_text(encoding="utf-8"))
        assert len({ref.text for ref in refs}) == len(refs)
        articles_with_refs += bool(refs)
        counts.update(PolicyRef(kind=ref.kind, text=ref.text, raw="") for ref in refs)
    assert articles_with_refs >= 3
    assert len(counts) >= 5
    found = {ref.text for ref in counts}
    # Media names quoted in the corpus must not be taken for policy documents.
    assert "中国信息安全" not in found
    assert "环球时报" not in found


# --- document numbers found from their brackets -------------------------------------------------


def _spans_slow(text: str) -> list[tuple[tuple[int, int], str, str]]:
    return [(m.span(), m.group("issuer"), m.group("serial")) for m in _DOC_NUMBER.finditer(text)]


def _spans(text: str) -> list[tuple[tuple[int, int], str, str]]:
    return [(m.span(), m.group("issuer"), m.group("serial")) for m in doc_number_matches(text=text)]


@pytest.mark.parametrize(
    "text",
    [
        "依据国办发〔2023〕12号文件",
        "国发〔2024〕1号、国发〔2024〕2号和国发〔2024〕3号",
        "国发〔2024〕1号国发〔2024〕2号",  # one right after the other: no character between
        "这是一段很长的没有标点的中文文字后面跟着工信部网安〔2023〕168号",  # issuer run > 12
        "十二个字的发文机关名称正好〔2022〕3号",
        "甲〔2022〕3号",  # one character: too short for an issuer
        "工信部　 \t〔 ２０２３ 〕 第 ５ 号",  # spaces of every kind, full-width digits
        "国发〔2024〕号 国发〔2024〕7号",  # the first lacks its serial
        "（2024）1号 国发(2024)2号 国发[2024]3号 国发【2024】4号",
        "国发〔2024〕〔2025〕1号",
        "abc〔2024〕1号 数据局〔2024〕01号",
        "〔2024〕〔2024〕〔2024〕",
        "",
    ],
)
def test_doc_numbers_found_from_their_brackets_are_the_patterns_own_matches(text: str) -> None:
    assert _spans(text) == _spans_slow(text)


def test_doc_numbers_found_from_their_brackets_match_the_pattern_on_every_real_file(
    corpus_dir: Path, policy_corpus_dir: Path
) -> None:
    paths = sorted(corpus_dir.glob("*.md")) + sorted(policy_corpus_dir.glob("*.md"))
    found = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        expected = _spans_slow(text)
        assert _spans(text) == expected, path.name
        found += len(expected)
    assert found > 300  # (the policy notices cite hundreds)
