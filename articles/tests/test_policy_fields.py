from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from articles.parsing import front_matter_load, front_matter_split
from articles.policy_fields import (
    CATEGORIES,
    OfficialText,
    amended_refs,
    category_from_title,
    effective_date,
    expiry_date,
    issued_titles,
    issuer_normalise,
    issuers_from_field,
    issuers_from_signature,
    official_text_read,
    official_title,
    repealed_refs,
    short_forms,
    signed_date,
)
from articles.policy_refs import normalise_doc_number

# A short notice written for these tests, laid out like a converted ministry notice.
NOTICE = """工业和信息化部财政部关于印发《示例数据管理办法》的通知
工信部联示〔2023〕7号
各省、自治区、直辖市工业和信息化主管部门、财政厅（局）：
现将《示例数据管理办法》印发给你们，请于2023年9月30日前报送落实情况。
工业和信息化部财政部2023年6月1日
示例数据管理办法
第一条为规范示例数据管理，制定本办法。
第九条本办法自2023年8月15日起施行。《示例数据旧办法》（工信部示〔2019〕3号）同时废止。
"""


def date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


# --- issuers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("工信部", "工业和信息化部"),
        ("国家发改委", "国家发展和改革委员会"),
        ("发展改革委", "国家发展和改革委员会"),
        ("国家发展改革委", "国家发展和改革委员会"),
        ("网信办", "国家互联网信息办公室"),
        ("国家网信办", "国家互联网信息办公室"),
        ("市场监管总局", "国家市场监督管理总局"),
        ("国办", "国务院办公厅"),
        ("科技部", "科学技术部"),
        ("人社部", "人力资源和社会保障部"),
        ("国资委", "国务院国有资产监督管理委员会"),
        ("数据局", "国家数据局"),
        ("央行", "中国人民银行"),
        ("人民银行", "中国人民银行"),
        ("工信部办公厅", "工业和信息化部办公厅"),
        ("国家发展改革委办公厅", "国家发展和改革委员会办公厅"),
        ("能源局综合司", "国家能源局综合司"),
        ("中华人民共和国工业和信息化部", "工业和信息化部"),
        ("重庆市政府办公厅", "重庆市人民政府办公厅"),
        ("  公安部 ", "公安部"),
    ],
)
def test_it_normalises_issuer_aliases_to_full_names(name: str, expected: str) -> None:
    assert issuer_normalise(name=name) == expected


def test_it_returns_unknown_issuers_only_stripped() -> None:
    assert issuer_normalise(name=" 某某研究院 ") == "某某研究院"
    assert issuer_normalise(name="Ministry of Examples") == "Ministry of Examples"
    assert issuer_normalise(name="香港特别行政区政府") == "香港特别行政区政府"


def test_it_splits_a_source_field_into_normalised_unique_issuers() -> None:
    assert issuers_from_field(value="工业和信息化部 财政部、工信部，市场监管总局;国资委") == [
        "工业和信息化部",
        "财政部",
        "国家市场监督管理总局",
        "国务院国有资产监督管理委员会",
    ]
    assert issuers_from_field(value="") == []


def test_it_splits_a_run_together_signature_into_bodies() -> None:
    text = "工业和信息化部财政部商务部国务院国有资产监督管理委员会国家市场监督管理总局"
    assert issuers_from_signature(text=text) == [
        "工业和信息化部",
        "财政部",
        "商务部",
        "国务院国有资产监督管理委员会",
        "国家市场监督管理总局",
    ]


def test_it_splits_signatures_of_offices_and_local_governments() -> None:
    assert issuers_from_signature(text="工业和信息化部办公厅国家发展改革委办公厅国家能源局综合司") == [
        "工业和信息化部办公厅",
        "国家发展和改革委员会办公厅",
        "国家能源局综合司",
    ]
    assert issuers_from_signature(text="重庆市人民政府办公厅") == ["重庆市人民政府办公厅"]
    assert issuers_from_signature(text="北京市经济和信息化局北京市财政局") == [
        "北京市经济和信息化局",
        "北京市财政局",
    ]


def test_it_refuses_a_signature_it_cannot_split_completely() -> None:
    assert issuers_from_signature(text="工业和信息化部某某协会") == []
    assert issuers_from_signature(text="") == []


# --- category -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("中华人民共和国示例保护法", "法律"),
        ("示例保护法", "法律"),
        ("中华人民共和国示例法（2021年修正）", "法律"),
        ("示例数据管理条例", "行政法规"),
        ("示例省数据条例", "地方性法规"),
        ("广东省示例促进条例", "地方性法规"),
        ("示例数据管理办法（工业和信息化部令第9号）", "部门规章"),
        ("示例市公共数据管理办法（示例市人民政府令第3号）", "地方政府规章"),
        ("中国共产党示例工作条例", "党内法规"),
        ("GB/T 12345-2023 示例技术要求", "标准"),
        ("示例产品安全技术标准", "标准"),
        ("工业和信息化部关于开展示例工作的通知", "通知"),
        ("关于加快示例产业发展的指导意见", "规范性文件"),
        ("示例行动计划（2023—2025年）", "规范性文件"),
        ("示例工作方案", "规范性文件"),
        ("示例合规指南", "规范性文件"),
    ],
)
def test_it_reads_the_category_from_the_title(title: str, expected: str) -> None:
    assert expected in CATEGORIES
    assert category_from_title(title=title) == expected


@pytest.mark.parametrize(
    "title",
    [
        "示例数据管理办法",  # a ministry's 办法 is a 规章 only with an order number
        "示例数据安全管理若干规定",
        "示例条例（征求意见稿）",  # a draft is no category yet
        "示例方法",
        "国务院关于修改《示例条例》的决定",
        "",
    ],
)
def test_it_leaves_the_category_unknown_rather_than_guessing(title: str) -> None:
    assert category_from_title(title=title) == ""


# --- dates --------------------------------------------------------------------------------------


def test_it_finds_the_signing_date_run_together_with_the_signature() -> None:
    assert signed_date(text=NOTICE) == date("2023-06-01")


def test_it_finds_the_signing_date_on_a_line_of_its_own() -> None:
    text = "请于2023年3月31日前报送。\n\n工业和信息化部办公厅\n\n2023年3月2日\n"
    assert signed_date(text=text) == date("2023-03-02")


def test_it_reads_a_signing_date_in_chinese_numerals() -> None:
    text = "特此通知。\n示例省人民政府\n二〇二二年八月二十四日\n（此件公开发布）\n"
    assert signed_date(text=text) == date("2022-08-24")


def test_it_does_not_take_deadlines_or_events_for_the_signing_date() -> None:
    text = (
        "活动时间：\n2023年5月1日至5月31日。\n"
        "工业和信息化部2023年4月1日印发了示例通知。\n"
        "请于2023年6月30日前报工业和信息化部。\n"
    )
    assert signed_date(text=text) is None


def test_it_takes_the_first_signature_date_not_one_in_the_attachment() -> None:
    text = "工业和信息化部\n2023年1月5日\n附件\n示例办法\n示例协会\n2023年2月1日\n"
    assert signed_date(text=text) == date("2023-01-05")


def test_it_reads_an_effective_date_written_out() -> None:
    assert effective_date(text=NOTICE) == date("2023-08-15")


def test_it_reads_effective_on_publication_from_the_date_passed_in() -> None:
    text = "第十条本办法自发布之日起施行。"
    assert effective_date(text=text, published_on=date("2023-07-10")) == date("2023-07-10")
    assert effective_date(text=text) is None


def test_it_reads_effective_on_signing_from_the_signing_date() -> None:
    text = "本通知自印发之日起施行。\n示例市人民政府办公厅2023年2月3日\n"
    assert effective_date(text=text, published_on=date("2023-02-10")) == date("2023-02-03")


def test_it_ignores_effective_dates_of_other_documents_and_deadlines() -> None:
    text = "《示例保护法》自2021年11月1日起施行。自2024年1月1日起，不再受理纸质申请。"
    assert effective_date(text=text) is None


# --- relations ----------------------------------------------------------------------------------


def test_it_finds_documents_repealed_with_their_numbers() -> None:
    assert repealed_refs(text=NOTICE) == ["示例数据旧办法", "工信部示〔2019〕3号"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("本规定自2023年1月1日起施行，《示例旧规定》同时废止。", ["示例旧规定"]),
        ("原《示例管理办法（试行）》废止。", ["示例管理办法(试行)"]),
        ("本办法施行后，《示例暂行办法》不再执行。", ["示例暂行办法"]),
        ("本办法施行后，《甲类管理办法》和《乙类实施细则》停止执行。", ["甲类管理办法", "乙类实施细则"]),
        ("现将《新示例规定》予以发布，自2023年1月1日起施行，《旧示例规定》同时废止。", ["旧示例规定"]),
        ("经过复审，对不适应需要的标准及时修订或者废止。", []),
    ],
)
def test_it_finds_only_what_the_text_says_it_repeals(text: str, expected: list[str]) -> None:
    assert repealed_refs(text=text) == expected


def test_it_finds_documents_the_text_amends() -> None:
    assert amended_refs(text="国务院关于修改《示例管理条例》的决定") == ["示例管理条例"]
    assert amended_refs(text="决定对《示例管理办法》作如下修改：") == ["示例管理办法"]
    assert amended_refs(text="依据《示例管理办法》开展工作。") == []


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("工业和信息化部关于印发《示例行动计划（2023-2025年）》的通知", ["示例行动计划(2023-2025年)"]),
        ("关于印发示例工作要点的通知", ["示例工作要点"]),
        ("关于印发《甲办法》《乙细则》的通知", ["甲办法", "乙细则"]),
        ("关于印发《甲办法》和《乙细则》的通知", ["甲办法", "乙细则"]),
        ("五部门联合印发示例行动计划的通知", ["示例行动计划"]),
        ("关于发布《示例技术指南》的通知", ["示例技术指南"]),
        ("关于发布2023年示例企业名单的通知", []),
        ("关于转发国务院关于印发示例纲要的通知的通知", []),
        ("关于开展示例工作的通知", []),
    ],
)
def test_it_finds_the_titles_a_notice_issues(title: str, expected: list[str]) -> None:
    assert issued_titles(title=title) == expected


# --- titles -------------------------------------------------------------------------------------


def test_it_takes_the_official_title_from_the_first_body_line() -> None:
    assert official_title(title="五部门联合印发示例办法", body_text=NOTICE) == (
        "工业和信息化部财政部关于印发《示例数据管理办法》的通知"
    )


def test_it_cuts_an_official_title_run_together_with_its_number() -> None:
    body = "示例市人民政府办公厅关于印发示例方案的通知示府办发〔2023〕5号各区县人民政府：\n现将方案印发。\n"
    assert official_title(title="", body_text=body) == "示例市人民政府办公厅关于印发示例方案的通知"


def test_it_falls_back_to_the_front_matter_title_only_when_it_reads_like_one() -> None:
    body = "各省、自治区、直辖市工业和信息化主管部门：\n现将有关事项通知如下。\n"
    assert official_title(title="工业和信息化部关于开展示例工作的通知", body_text=body) == (
        "工业和信息化部关于开展示例工作的通知"
    )
    assert official_title(title="《示例通知》解读", body_text=body) == ""


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("中华人民共和国个人信息保护法", ["个人信息保护法"]),
        ("生成式人工智能服务管理暂行办法", ["生成式人工智能服务管理办法"]),
        (
            "汽车数据安全管理若干规定（试行）",
            ["汽车数据安全管理规定", "汽车数据安全管理若干规定", "汽车数据安全管理规定（试行）"],
        ),
        ("“十四五”示例规划", ["十四五示例规划"]),
        ("示例产品目录（2023年版）", ["示例产品目录"]),
        ("示例管理办法（征求意见稿）", []),
        ("关于试行示例制度的通知", []),
    ],
)
def test_it_derives_the_short_forms_people_type(title: str, expected: list[str]) -> None:
    assert short_forms(title=title) == expected


# --- the whole record ---------------------------------------------------------------------------


def test_it_reads_an_official_text_with_a_doc_number_in_the_front_matter() -> None:
    front = {"source": "工业和信息化部 财政部", "doc_number": "工信部联示 [2023] 7号"}
    record = official_text_read(front=front, title="", body_text=NOTICE, published_on=date("2023-06-05"))
    assert record == OfficialText(
        title="工业和信息化部财政部关于印发《示例数据管理办法》的通知",
        doc_number="工信部联示〔2023〕7号",
        issuers=("工业和信息化部", "财政部"),
        category="规范性文件",
        signed_on=date("2023-06-01"),
        published_on=date("2023-06-05"),
        effective_on=date("2023-08-15"),
        repealed=("示例数据旧办法", "工信部示〔2019〕3号"),
        amended=(),
        issued=("示例数据管理办法",),
    )


def test_it_keeps_a_front_matter_number_that_does_not_normalise() -> None:
    front = {"doc_number": " 第5号 "}
    record = official_text_read(front=front, title="", body_text=NOTICE, published_on=None)
    assert record is not None
    assert record.doc_number == "第5号"


def test_it_reads_an_official_text_from_its_number_line_without_front_matter_number() -> None:
    record = official_text_read(front={}, title="", body_text=NOTICE, published_on=None)
    assert record is not None
    assert record.doc_number == "工信部联示〔2023〕7号"
    # No source field: the issuers come from the signature.
    assert record.issuers == ("工业和信息化部", "财政部")


def test_it_prefers_the_signature_when_the_source_names_only_the_lead_body() -> None:
    record = official_text_read(front={"source": "财政部"}, title="", body_text=NOTICE, published_on=None)
    assert record is not None
    assert record.issuers == ("工业和信息化部", "财政部")


def test_it_takes_issuers_from_the_title_when_nothing_else_names_them() -> None:
    body = "工业和信息化部办公厅关于开展示例工作的通知\n工信厅示函〔2023〕1号\n各有关单位：\n特此通知。\n"
    record = official_text_read(front={"source": "某网站"}, title="", body_text=body, published_on=None)
    assert record is not None
    assert record.issuers == ("工业和信息化部办公厅",)
    assert record.signed_on is None
    assert record.effective_on is None


def test_it_reads_a_rule_promulgated_by_order_as_a_departmental_rule() -> None:
    body = "示例数据管理办法\n工业和信息化部令第9号\n第一条为规范示例数据，制定本办法。\n"
    front = {"doc_number": "工信部令〔2023〕9号", "title": "示例数据管理办法"}
    record = official_text_read(front=front, title="示例数据管理办法", body_text=body, published_on=None)
    assert record is not None
    assert record.category == "部门规章"


def test_it_does_not_take_news_or_an_interpretation_for_an_official_text() -> None:
    body = "近日，工业和信息化部印发《关于开展示例工作的通知》（工信厅示函〔2023〕1号）。\n问：背景是什么？\n"
    front = {"source": "工业和信息化部"}
    assert official_text_read(front=front, title="《通知》解读", body_text=body, published_on=None) is None


# --- real corpus --------------------------------------------------------------------------------


def _published_on(value: object) -> datetime.date | None:
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value)) if value else None


@pytest.mark.corpus
def test_it_reads_the_official_texts_of_the_real_policy_corpus(policy_corpus_dir: Path) -> None:
    paths = sorted(policy_corpus_dir.glob("*.md"))
    records: list[OfficialText] = []
    for path in paths:
        raw, body = front_matter_split(text=path.read_text(encoding="utf-8"))
        front, _ = front_matter_load(raw=raw)
        published_on = _published_on(front.get("date"))
        record = official_text_read(
            front=front, title=str(front.get("title") or ""), body_text=body, published_on=published_on
        )
        if front.get("doc_number"):
            assert record is not None, path.name
            assert record.doc_number == normalise_doc_number(str(front["doc_number"])), path.name
        if record is None:
            continue
        records.append(record)
        if record.signed_on and published_on:
            assert record.signed_on <= published_on, path.name

    # Measured on the 229 files: 211 records, every one with issuers, a signing date and a
    # category; the bounds sit a little below so a few harder files may be added.
    assert len(records) >= 200
    assert sum(bool(record.issuers) for record in records) >= 0.97 * len(records)
    assert sum(record.signed_on is not None for record in records) >= 0.95 * len(records)
    assert sum(bool(record.category) for record in records) >= 0.95 * len(records)
    assert sum(record.effective_on is not None for record in records) >= 10


# --- validity and notices -----------------------------------------------------------------------


def test_a_text_that_says_how_long_it_is_valid_gets_an_expiry_date():
    assert expiry_date(
        text="各地抓好落实。本政策自印发之日起施行，有效期至2022年12月31日。"
    ) == datetime.date(2022, 12, 31)
    assert expiry_date(
        text="本办法自发布之日起施行，有效期五年。", effective_on=datetime.date(2020, 3, 1)
    ) == (datetime.date(2025, 2, 28))
    # a duration without a known start says no date
    assert expiry_date(text="本办法自发布之日起施行，有效期五年。") is None


def test_the_validity_of_a_pilot_or_a_listed_firm_is_not_the_texts():
    for text in (
        "确定5家企业为年度试点企业，试点有效期1年，现予以公布。",
        "（三）动态管理。入选企业有效期为3年，期满可再次申报。",
        "考核合格证明有效期3年。",
    ):
        assert expiry_date(text=text, effective_on=datetime.date(2020, 1, 1)) is None, text


def test_a_notice_that_issues_no_rules_is_a_notice_and_one_that_does_is_normative():
    assert category_from_title(title="示例部办公厅关于公布第二批示范企业名单的通知") == "通知"
    assert category_from_title(title="示例部办公厅关于组织申报2023年示范项目的通知") == "通知"
    assert category_from_title(title="示例部关于印发《示例数据管理办法》的通知") == "规范性文件"
    assert category_from_title(title="示例部关于印发示例产业发展行动计划的通知") == "规范性文件"
