from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article, ruleset_for
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"
WIDGET_MARKERS = (
    "微信扫一扫",
    "预览时标签不可点",
    "扫码订阅",
    "继续滑动看下一个",
    "轻触阅读原文",
    "知道了",
    "邮发代号",
)


def clean_fixture(name: str, *, url: str | None = None) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(
        markdown=parsed.body, url=parsed.url if url is None else url, title=parsed.title, source=parsed.source
    )


def test_it_removes_every_wechat_widget_and_subscription_blurb():
    result = clean_fixture("wechat_basic.md")
    for marker in WIDGET_MARKERS:
        assert marker not in result.body_markdown
    last_lines = [line for line in result.body_markdown.splitlines() if line.strip()][-3:]
    assert not {"赞", "在看", "分享", "留言"} & set(last_lines)


def test_it_keeps_the_article_paragraphs_bold_text_and_content_images():
    result = clean_fixture("wechat_basic.md")
    assert result.body_markdown.startswith("近日，某市政府办公厅印发")
    assert "**一是完善数据目录。**" in result.body_markdown
    assert "FAKECHART01" in result.body_markdown
    assert "（来源：城市发展报）" in result.body_markdown


def test_it_drops_gif_separators_qr_codes_and_lone_punctuation():
    result = clean_fixture("wechat_basic.md")
    assert "FAKEGIF" not in result.body_markdown
    assert "FAKEQR" not in result.body_markdown
    assert "\n。\n" not in result.body_markdown


def test_it_drops_the_repeated_title_and_the_byline_lines():
    result = clean_fixture("wechat_basic.md")
    assert "某市发布公共数据开放三年行动方案" not in result.body_markdown.split("\n")[0]
    assert "# 某市发布" not in result.body_markdown
    assert "林晓岚" not in result.body_markdown
    assert "数据治理观察" not in result.body_markdown


def test_it_reads_the_author_from_the_byline_but_never_the_account_name():
    result = clean_fixture("wechat_basic.md")
    assert result.authors == ("林晓岚",)


def test_it_takes_the_cover_image_out_of_the_body():
    result = clean_fixture("wechat_basic.md")
    assert result.cover_image == "https://mmbiz.qpic.cn/mmbiz_jpg/FAKECOVER000/0?wx_fmt=jpeg"
    assert "cover_image" not in result.body_markdown


def test_it_reports_the_named_origin_as_attribution():
    assert clean_fixture("wechat_basic.md").attribution == "城市发展报"


def test_it_summarises_with_the_first_real_paragraph():
    result = clean_fixture("wechat_basic.md")
    assert result.summary.startswith("近日，某市政府办公厅印发《公共数据开放三年行动方案》")
    assert "**" not in result.body_text
    assert "![" not in result.body_text


def test_it_handles_reposts_with_original_account_and_several_authors():
    result = clean_fixture("wechat_repost.md")
    assert result.attribution == "边城安全笔记"
    assert result.authors == ("周明远", "何雨桐")
    assert "以下文章来源于" not in result.body_markdown
    assert "关键词" not in result.body_markdown
    assert "供应链\n" not in result.body_markdown.split("研究人员")[0]


def test_it_cuts_the_end_block_and_related_reading_but_not_an_early_section_of_the_same_name():
    result = clean_fixture("wechat_repost.md")
    assert "研究人员近日发现" in result.body_markdown
    assert "安全团队建议开发者锁定依赖版本" in result.body_markdown
    assert "END" not in result.body_markdown
    assert "另一篇无关的旧文章标题" not in result.body_markdown
    assert "扫码关注我们" not in result.body_markdown
    assert "好看你就分享" not in result.body_markdown


def test_it_recognises_a_wechat_export_even_without_a_url():
    parsed = parse_article(data=(FIXTURES / "wechat_basic.md").read_bytes())
    assert ruleset_for(url="", markdown=parsed.body).name == "wechat"
    result = clean_fixture("wechat_basic.md", url="")
    assert "预览时标签不可点" not in result.body_markdown
    assert result.authors == ("林晓岚",)


PROMO_ARTICLE = """
# 示例标题

![cover_image](https://mmbiz.qpic.cn/mmbiz_jpg/FAKECOVER9/0?wx_fmt=jpeg)

# 示例标题

示例账号

**安全资讯 · 每日一读**

作者：韩知远 编辑：宋佳音

今年以来，多地监管部门加强了对数据出境活动的检查，重点关注企业是否按规定完成申报和备案。

检查发现的问题主要集中在出境数据清单不完整和合同条款缺失两个方面，相关企业已按要求整改。

*作者系示例研究院研究员*

**免责声明：**本文仅代表作者个人观点，不构成法律意见。

**每日更新合规动态**

![](https://mmbiz.qpic.cn/mmbiz_png/FAKEQRCODE9/640?wx_fmt=png)

**投稿邮箱：tougao@example.cn**

**欢迎关注「示例账号」视频号**

![](https://mmbiz.qpic.cn/mmbiz_png/FAKEBANNER9/640?wx_fmt=png)

预览时标签不可点

示例账号

向上滑动看下一个
"""


def clean_promo() -> CleanResult:
    return clean_article(
        markdown=PROMO_ARTICLE,
        url="https://mp.weixin.qq.com/s?__biz=MzFake==&mid=1&idx=1&sn=abc",
        title="示例标题",
        source="示例账号",
    )


def test_it_drops_the_account_blurbs_images_and_disclaimer_after_the_last_paragraph():
    body = clean_promo().body_markdown
    for blurb in ("FAKEQRCODE9", "FAKEBANNER9", "投稿邮箱", "视频号", "每日更新合规动态", "免责声明"):
        assert blurb not in body
    assert body.rstrip().endswith("*作者系示例研究院研究员*")


def test_it_drops_the_slogan_and_credit_lines_above_the_first_paragraph():
    result = clean_promo()
    assert result.body_markdown.startswith("今年以来，多地监管部门")
    assert result.authors == ("韩知远",)


def test_it_keeps_a_closing_sentence_that_merely_mentions_following_up():
    markdown = PROMO_ARTICLE.replace("*作者系示例研究院研究员*", "**本号将持续关注检查进展。**")
    result = clean_article(
        markdown=markdown,
        url="https://mp.weixin.qq.com/s?__biz=MzFake==",
        title="示例标题",
        source="示例账号",
    )
    assert result.body_markdown.rstrip().endswith("**本号将持续关注检查进展。**")


def test_it_drops_the_card_of_the_account_a_post_is_reposted_from():
    markdown = (
        "# 标题甲\n\n# 标题甲\n\n转发账号\n\n以下文章来源于原创账号\n，作者冯一鸣\n\n"
        "![](http://wx.qlogo.cn/mmhead/FAKEAVATAR/0)\n\n**原创账号**\n.\n\n"
        "原创账号专注数据合规研究，每周分享行业动态。\n\n"
        "这是正文的第一段，介绍某地公共数据授权运营的试点情况和主要做法。\n"
    )
    result = clean_article(
        markdown=markdown, url="https://mp.weixin.qq.com/s?__biz=MzFake==", title="标题甲", source="转发账号"
    )
    assert result.body_markdown.startswith("这是正文的第一段")
    assert "FAKEAVATAR" not in result.body_markdown
    assert "专注数据合规研究" not in result.body_markdown
    assert result.attribution == "原创账号"
    assert result.authors == ("冯一鸣",)
