from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article, ruleset_for
from articles.cleaning.plaintext import markdown_to_text, summary_make
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_it_falls_back_to_the_generic_rules_for_unknown_sites():
    assert ruleset_for(url="https://news.example.cn/a.html").name == "generic"
    assert ruleset_for(url="https://sub.freebuf.com/x").name == "freebuf"


def test_it_drops_navigation_lists_related_links_and_copyright_lines():
    result = clean_fixture("generic.md")
    for chrome in ("首页", "要闻", "相关阅读", "Copyright", "ICP备"):
        assert chrome not in result.body_markdown
    assert "数据确权和定价机制" in result.body_markdown


def test_it_splits_several_authors_given_on_one_line():
    assert clean_fixture("generic.md").authors == ("郑一帆", "王可")


def test_it_reports_a_reprint_origin_as_attribution_not_as_author():
    result = clean_fixture("generic.md")
    assert result.attribution == "经济观察周刊"
    assert "经济观察周刊" not in result.authors


def test_it_turns_markdown_into_one_plain_paragraph_per_line():
    markdown = (
        "## 小标题\n\n第一段**加粗**和[链接](https://x.example)。\n第一段的续行。\n\n"
        "* 列表一\n* 列表二\n\n> 引用 ![图](https://x.example/i.png)\n\n"
        "| 甲 | 乙 |\n| --- | --- |\n| 1 | 2 |\n\n"
        "Wrapped English\nline joined.\n"
    )
    assert markdown_to_text(markdown).splitlines() == [
        "小标题",
        "第一段加粗和链接。第一段的续行。",
        "列表一",
        "列表二",
        "引用",
        "甲 乙",
        "1 2",
        "Wrapped English line joined.",
    ]


def test_it_trims_long_summaries_at_a_sentence_end():
    text = "短行\n" + "这是一个很长的句子，用来测试摘要截断。" * 20
    summary = summary_make(text=text)
    assert len(summary) <= 200
    assert summary.endswith("。")
    assert summary.startswith("这是一个很长的句子")


def byline_authors(line: str) -> tuple[str, ...]:
    markdown = f"{line}\n\n正文第一段，介绍某项制度的主要内容和适用范围，以及企业需要注意的事项。\n"
    return clean_article(
        markdown=markdown, url="https://news.example.cn/1.html", title="t", source="s"
    ).authors


def test_it_splits_a_byline_line_at_each_label_and_keeps_only_writers():
    assert byline_authors("作者：王海宁 编辑：何书涵") == ("王海宁",)
    assert byline_authors("文 | 李若彤　责编：赵启航") == ("李若彤",)
    assert byline_authors("记者：孙立群、刘一鸣 审核：周明轩 校对：陈思远") == ("孙立群", "刘一鸣")


def test_editors_alone_give_no_author():
    assert byline_authors("编辑：何书涵") == ()
    assert byline_authors("责任编辑：王海宁") == ()


def test_a_source_field_on_a_byline_line_is_the_attribution():
    markdown = (
        "作者：林静怡 来源：数据治理前沿 编辑：郑嘉禾\n\n"
        "正文第一段，介绍某项制度的主要内容和适用范围以及注意事项。\n"
    )
    result = clean_article(markdown=markdown, url="https://news.example.cn/1.html", title="t", source="s")
    assert result.attribution == "数据治理前沿"
    assert result.authors == ("林静怡",)


def test_a_notice_heading_about_icp_filing_is_text_not_a_site_footer():
    body = "\n\n".join(
        [
            "各省、自治区、直辖市通信管理局：",
            "为减轻企业负担，我部决定开展备案信息电子化核验试点。有关事项通知如下：",
            # (past a quarter of the text, where the footer rules start to look)
            "试点工作坚持依法依规、稳妥有序的原则，由接入服务提供者自愿申请、主管部门审核确定。" * 4,
            "一、试点工作内容",
            "（一）ICP备案主体身份信息电子化采集",
            "参与试点的接入服务提供者可采用人脸识别等技术电子化采集主体身份信息。",
            "（二）核验单电子化提交",
            "参与试点的接入服务提供者应当按照核验单要求逐项核验并电子化提交。",
            "二、参与试点单位条件",
            "具备相应技术能力和安全保障措施的接入服务提供者均可申请参加试点。",
            "网站备案号：京ICP备00000000号",
        ]
    )
    result = clean_article(markdown=body, url="", title="关于开展备案核验试点工作的通知", source="示例部")
    assert "二、参与试点单位条件" in result.body_text
    assert "ICP备案主体身份信息电子化采集" in result.body_text
    assert "京ICP备" not in result.body_text
