from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from articles.rendering import render_article_html, render_plain_excerpt

HOSTILE_DIR = Path(__file__).resolve().parent / "hostile"
HOSTILE_FILES = sorted(HOSTILE_DIR.glob("*.md"))

# Written out here rather than imported so the test does not just mirror the module.
EXPECTED_TAGS = {
    *(f"h{level}" for level in range(1, 7)),
    *"p br hr strong em b i u s del blockquote ul ol li code pre a img".split(),
    *"table thead tbody tr th td sup sub figure figcaption".split(),
}
EXPECTED_ATTRIBUTES = {
    "a": {"href", "title", "rel", "target"},
    "img": {"src", "alt", "title", "referrerpolicy", "loading"},
}
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]


@dataclass
class ParsedHtml:
    elements: list[Element] = field(default_factory=list)
    text: str = ""

    def tags(self) -> set[str]:
        return {element.tag for element in self.elements}

    def all(self, tag: str) -> list[Element]:
        return [element for element in self.elements if element.tag == tag]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.result = ParsedHtml()
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.result.elements.append(Element(tag=tag, attrs={k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_comment(self, data: str) -> None:
        self.result.elements.append(Element(tag="!comment", attrs={}))

    def close(self) -> None:
        super().close()
        self.result.text = "".join(self._text)


def parse_html(html_text: str) -> ParsedHtml:
    collector = _Collector()
    collector.feed(html_text)
    collector.close()
    return collector.result


def squeeze(value: str) -> str:
    """What a browser would see as the URL: no whitespace or control characters, lower case."""
    return re.sub(r"[\x00-\x20\u00a0\u3000]", "", value).lower()


def assert_html_is_safe(html_text: str) -> ParsedHtml:
    parsed = parse_html(html_text)
    assert parsed.tags() <= EXPECTED_TAGS, f"unexpected elements {parsed.tags() - EXPECTED_TAGS}"
    for element in parsed.elements:
        allowed = EXPECTED_ATTRIBUTES.get(element.tag, set())
        assert set(element.attrs) <= allowed, f"<{element.tag}> has {set(element.attrs) - allowed}"
        for name, value in element.attrs.items():
            assert not name.startswith("on")
            assert not any(scheme in squeeze(value) for scheme in DANGEROUS_SCHEMES), (name, value)
        if element.tag == "a":
            assert element.attrs.get("rel") == "noopener noreferrer nofollow"
            href = element.attrs.get("href", "")
            assert urlsplit(href).scheme in {"http", "https", "mailto"}, href
        if element.tag == "img":
            assert urlsplit(element.attrs.get("src", "")).scheme in {"http", "https"}
            assert element.attrs.get("referrerpolicy") == "no-referrer"
            assert element.attrs.get("loading") == "lazy"
    # The raw string must not contain markup a browser could treat as a live element either.
    assert not re.search(r"<\s*(script|iframe|style|svg|math|object|embed|form|base|meta)", html_text, re.I)
    return parsed


def test_the_hostile_corpus_has_enough_cases() -> None:
    assert len(HOSTILE_FILES) >= 25


@pytest.mark.parametrize("path", HOSTILE_FILES, ids=lambda path: path.stem)
def test_it_neutralises_hostile_input(path: Path) -> None:
    html_text = render_article_html(markdown_text=path.read_text(encoding="utf-8"))
    assert_html_is_safe(html_text)


def test_it_keeps_the_text_around_a_removed_script() -> None:
    html_text = render_article_html(markdown_text=(HOSTILE_DIR / "script_tag.md").read_text())
    parsed = assert_html_is_safe(html_text)
    assert "政策解读要点如下。" in parsed.text
    assert "正文继续。" in parsed.text
    assert "alert" not in parsed.text


def test_it_keeps_the_words_of_a_javascript_link_but_not_the_link() -> None:
    html_text = render_article_html(markdown_text="请参阅[附件](javascript:alert(1))。")
    parsed = assert_html_is_safe(html_text)
    assert parsed.all("a") == []
    assert "请参阅附件。" in parsed.text


def test_it_strips_style_class_and_id_but_keeps_the_paragraph() -> None:
    html_text = render_article_html(
        markdown_text='<p class="rich_media_content" id="js_content" style="color:red">微信正文</p>'
    )
    assert html_text == "<p>微信正文</p>"


def test_it_escapes_an_image_title_that_tries_to_add_an_attribute() -> None:
    html_text = render_article_html(
        markdown_text='![封面](https://example.com/a.png "x\\" onerror=\\"alert(1)")'
    )
    parsed = assert_html_is_safe(html_text)
    (image,) = parsed.all("img")
    assert image.attrs["src"] == "https://example.com/a.png"
    assert "onerror" in image.attrs["title"]  # harmless text inside the title value


BENIGN_ARTICLE = """# 关于数据安全的政策解读

## 一、主要内容

本文介绍**重点条款**与*适用范围*，详见[原文链接](https://www.example.gov.cn/zhengce/2024/01.html "原文")。

1. 第一项要求
2. 第二项要求

- 无序条目甲
- 无序条目乙

> 引用一段说明文字。

![示意图](https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png)

| 项目 | 说明 |
| ---- | ---- |
| 适用对象 | 数据处理者 |

```python
if a < b and c > d:
    print("<script>")
```

行内代码 `x < y`，删除线 ~~旧规定~~，上标 2<sup>10</sup>。
"""


def test_it_keeps_benign_article_structure() -> None:
    html_text = render_article_html(markdown_text=BENIGN_ARTICLE)
    parsed = assert_html_is_safe(html_text)
    assert {"h1", "h2", "p", "strong", "em", "ol", "ul", "li", "blockquote", "img"} <= parsed.tags()
    assert {"table", "thead", "tbody", "tr", "th", "td", "pre", "code", "sup", "a"} <= parsed.tags()
    assert len(parsed.all("li")) == 4
    assert "<h1>关于数据安全的政策解读</h1>" in html_text
    assert [cell for cell in parsed.all("td")] and "数据处理者" in parsed.text


def test_it_keeps_code_blocks_as_escaped_text() -> None:
    html_text = render_article_html(markdown_text=BENIGN_ARTICLE)
    assert '<pre><code class="language-python">' not in html_text  # no class attributes
    assert "if a &lt; b and c &gt; d:" in html_text
    assert 'print("&lt;script&gt;")' in html_text or "print(&quot;&lt;script&gt;&quot;)" in html_text
    assert "<code>x &lt; y</code>" in html_text


def test_it_opens_external_links_in_a_new_tab_without_referrer() -> None:
    html_text = render_article_html(markdown_text=BENIGN_ARTICLE)
    (link,) = parse_html(html_text).all("a")
    assert link.attrs == {
        "href": "https://www.example.gov.cn/zhengce/2024/01.html",
        "title": "原文",
        "rel": "noopener noreferrer nofollow",
        "target": "_blank",
    }


def test_it_keeps_query_strings_in_links_intact() -> None:
    html_text = render_article_html(markdown_text="[查询](https://example.com/s?a=1&b=2)")
    (link,) = parse_html(html_text).all("a")
    assert link.attrs["href"] == "https://example.com/s?a=1&b=2"


def test_it_keeps_mailto_links_without_a_new_tab() -> None:
    html_text = render_article_html(markdown_text="联系 [邮箱](mailto:office@example.cn)")
    (link,) = parse_html(html_text).all("a")
    assert link.attrs["href"] == "mailto:office@example.cn"
    assert link.attrs["rel"] == "noopener noreferrer nofollow"
    assert "target" not in link.attrs


@pytest.mark.parametrize(
    "markdown_text",
    [
        "[我的收藏](/user/collects)",
        "[下一页](page/2.html)",
        "[顶部](#top)",
        "[查询](?page=3)",
        '<a href="/user/collects">我的收藏</a>',
    ],
)
def test_it_turns_relative_links_into_plain_text(markdown_text: str) -> None:
    html_text = render_article_html(markdown_text=markdown_text)
    parsed = assert_html_is_safe(html_text)
    assert parsed.all("a") == []
    assert parsed.text.strip() in {"我的收藏", "下一页", "顶部", "查询"}


def test_it_upgrades_protocol_relative_images_to_https_and_hides_the_referrer() -> None:
    html_text = render_article_html(markdown_text="![图](//mmbiz.qpic.cn/mmbiz_jpg/xyz/640?wx_fmt=jpeg)")
    (image,) = parse_html(html_text).all("img")
    assert image.attrs == {
        "src": "https://mmbiz.qpic.cn/mmbiz_jpg/xyz/640?wx_fmt=jpeg",
        "alt": "图",
        "referrerpolicy": "no-referrer",
        "loading": "lazy",
    }


def test_it_upgrades_protocol_relative_images_written_as_html() -> None:
    html_text = render_article_html(
        markdown_text='<img data-src="x" src=" //mmbiz.qpic.cn/a/640" alt="配图">'
    )
    (image,) = parse_html(html_text).all("img")
    assert image.attrs["src"] == "https://mmbiz.qpic.cn/a/640"
    assert "data-src" not in image.attrs


def test_it_drops_images_without_a_usable_source() -> None:
    html_text = render_article_html(markdown_text='前<img src="images/a.png" alt="本地图">后')
    parsed = assert_html_is_safe(html_text)
    assert parsed.all("img") == []
    assert "前后" in parsed.text


def test_it_returns_an_empty_string_for_empty_input() -> None:
    assert render_article_html(markdown_text="") == ""
    assert render_article_html(markdown_text="  \n\n ") == ""


def test_rendering_its_own_output_changes_nothing_important() -> None:
    once = render_article_html(markdown_text=BENIGN_ARTICLE)
    twice = render_article_html(markdown_text=once)
    assert parse_html(twice).all("a")[0].attrs == parse_html(once).all("a")[0].attrs
    assert parse_html(twice).all("img")[0].attrs == parse_html(once).all("img")[0].attrs


def _corpus_body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if text.startswith("---"):
        _, _, rest = text[3:].partition("\n---")
        return rest
    return text


@pytest.mark.corpus
def test_it_renders_every_real_article_safely(corpus_dir: Path) -> None:
    paths = sorted(corpus_dir.glob("*.md"))
    rendered = 0
    for path in paths:
        html_text = render_article_html(markdown_text=_corpus_body(path))
        assert_html_is_safe(html_text)
        rendered += bool(html_text)
    assert rendered >= len(paths) * 0.9


# --- excerpts -------------------------------------------------------------------------------


def test_an_excerpt_of_short_text_is_the_text_itself() -> None:
    assert render_plain_excerpt(text="数据安全新规发布", limit=20) == "数据安全新规发布"


def test_an_excerpt_collapses_whitespace() -> None:
    assert render_plain_excerpt(text="  第一段\n\n第二段\t 结束 ", limit=50) == "第一段 第二段 结束"


def test_an_excerpt_of_long_chinese_text_fits_the_limit_and_ends_with_an_ellipsis() -> None:
    text = "国家有关部门近日发布新的数据出境管理规定明确了适用范围与申报流程"
    excerpt = render_plain_excerpt(text=text, limit=10)
    assert excerpt == "国家有关部门近日发…"
    assert len(excerpt) == 10


def test_an_excerpt_does_not_end_with_dangling_punctuation() -> None:
    excerpt = render_plain_excerpt(text="第一条，第二条，第三条，第四条", limit=5)
    assert excerpt == "第一条…"


def test_an_excerpt_does_not_split_a_latin_word_when_a_space_is_near() -> None:
    excerpt = render_plain_excerpt(text="The agency published interoperability guidance today", limit=30)
    assert excerpt == "The agency published…"
    assert len(excerpt) <= 30


def test_an_excerpt_does_not_separate_a_letter_from_its_accent() -> None:
    text = "cafe\u0301" + "x" * 10  # "café" written with a combining acute accent
    excerpt = render_plain_excerpt(text="ab" + text, limit=6)
    assert not excerpt[:-1].endswith("e")
    assert excerpt.endswith("…")
    assert len(excerpt) <= 6


def test_an_excerpt_does_not_split_an_emoji_sequence() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    excerpt = render_plain_excerpt(text="家庭" + family + "相关内容很长很长", limit=5)
    assert "\u200d" not in excerpt
    assert excerpt == "家庭…"


def test_an_excerpt_does_not_split_a_flag() -> None:
    flags = "\U0001f1e8\U0001f1f3\U0001f1ec\U0001f1e7"
    excerpt = render_plain_excerpt(text="a" + flags + "bcdef", limit=5)
    assert excerpt == "a\U0001f1e8\U0001f1f3…"


def test_an_excerpt_with_limit_one_is_just_the_ellipsis() -> None:
    assert render_plain_excerpt(text="很长的正文内容", limit=1) == "…"


def test_an_excerpt_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError):
        render_plain_excerpt(text="正文", limit=0)


def test_it_upgrades_protocol_relative_links_to_https() -> None:
    html_text = render_article_html(markdown_text="[公众号原文](//mp.weixin.qq.com/s/abc)")
    (link,) = parse_html(html_text).all("a")
    assert link.attrs["href"] == "https://mp.weixin.qq.com/s/abc"
    assert link.attrs["target"] == "_blank"
