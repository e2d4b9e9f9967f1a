"""Unknown hosts: the family is chosen by page layout, and the generic rules cut common site chrome."""

from __future__ import annotations

from pathlib import Path

from articles.cleaning import CleanResult, clean_article, ruleset_for
from articles.parsing import parse_article

FIXTURES = Path(__file__).parent / "fixtures"

AGGREGATOR_PAGE = """
* [聚合站](https://mirror.example.net)
* [我的收藏](/user/collects)

示例标题
*2024-1-1 10:00:00
Author: [blog.example.org(查看原文)](/jump-1.htm)
阅读量:12
收藏*

---

第一段正文，讲述一次供应链攻击的经过和处置情况，内容足够长，可以算作一个段落。

文章来源: https://blog.example.org/post/1
 如有侵权请联系:admin#mirror.example.net

### 相关文章

* [别的文章](https://mirror.example.net/go-2.html)

© [聚合站](https://mirror.example.net) Powered By SomeCache
"""

LIST_ARCHIVE_PAGE = """
[Advisories](/advisories/)

*From*: Ada Novak <ada () example org>
*Date*: Mon, 1 Jan 2024 10:00:00 +0100

---

```
A short advisory text about an example product.
_______________________________________________
Sent through the Example advisory list
https://lists.example.org/mailman/listinfo/advisories
Archives & RSS: https://lists.example.org/advisories/
```

**Current thread:**

* [Re: advisory](2)
"""


def clean_fixture(name: str) -> CleanResult:
    parsed = parse_article(data=(FIXTURES / name).read_bytes())
    return clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)


def test_an_unknown_host_with_an_aggregator_layout_gets_the_aggregator_rules():
    assert ruleset_for(url="https://mirror.example.net/go-1.html", markdown=AGGREGATOR_PAGE).name == "buaq"
    result = clean_article(
        markdown=AGGREGATOR_PAGE,
        url="https://mirror.example.net/go-1.html",
        title="示例标题",
        source="聚合站",
    )
    assert result.body_markdown.startswith("第一段正文")
    for chrome in ("我的收藏", "阅读量", "如有侵权", "相关文章", "Powered By", "©"):
        assert chrome not in result.body_markdown
    assert result.attribution == "https://blog.example.org/post/1"


def test_an_unknown_host_with_a_mailing_list_header_gets_the_list_rules():
    assert ruleset_for(url="https://lists.example.org/a/1", markdown=LIST_ARCHIVE_PAGE).name == "seclists"
    result = clean_article(
        markdown=LIST_ARCHIVE_PAGE, url="https://lists.example.org/a/1", title="t", source="s"
    )
    assert result.authors == ("Ada Novak",)
    assert "A short advisory text" in result.body_markdown
    for chrome in ("Sent through", "mailman", "Archives & RSS", "Current thread", "_____"):
        assert chrome not in result.body_markdown


def test_layout_detection_needs_every_marker_of_the_layout():
    half = "正文。\n\n文章来源: https://blog.example.org/post/1\n"
    assert ruleset_for(url="https://news.example.cn/1.html", markdown=half).name == "generic"


def test_the_generic_rules_drop_the_menu_logo_and_dateline_above_the_article():
    result = clean_fixture("generic_portal.md")
    assert ruleset_for(url="https://www.zhengwu-news.example.cn/article/1.html").name == "generic"
    assert result.body_markdown.startswith("某省工业和信息化厅近日印发")
    for chrome in ("首页", "政策解读", "专题", "登录", "logo.png", "关注官方公众号", "2024-05-12"):
        assert chrome not in result.body_markdown


def test_the_generic_rules_cut_comments_related_articles_and_the_footer():
    result = clean_fixture("generic_portal.md")
    assert result.body_markdown.rstrip().endswith("鼓励企业对照开展自评估。")
    for chrome in (
        "加入收藏",
        "分享到",
        "禁止转载",
        "相关文章",
        "发表评论",
        "©",
        "版权所有",
        "ICP",
        "Powered By",
    ):
        assert chrome not in result.body_markdown


def test_editors_on_a_byline_are_not_authors():
    result = clean_fixture("generic_portal.md")
    assert result.authors == ("钱梓萌",)
    assert "孔令仪" not in result.body_markdown
    assert "作者" not in result.body_markdown
