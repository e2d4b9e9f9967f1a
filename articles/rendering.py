"""Safe HTML for article pages.

Article bodies are markdown produced from crawled pages, so they are untrusted
and may embed raw HTML. Rendering goes through three steps:

1. python-markdown turns the text into HTML (raw HTML passes through as is);
2. nh3 sanitises it against an explicit allow-list;
3. a small re-serialiser drops links that lead nowhere on our site, adds the
   attributes we want on every link and image, and the result is sanitised by
   nh3 once more so that nothing our own code writes can widen the allow-list.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import urlsplit

import markdown
import nh3

MARKDOWN_EXTENSIONS = ["extra", "fenced_code", "tables", "sane_lists"]

ALLOWED_TAGS = frozenset(
    {
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "p",
        "br",
        "hr",
        "strong",
        "em",
        "b",
        "i",
        "u",
        "s",
        "del",
        "blockquote",
        "ul",
        "ol",
        "li",
        "code",
        "pre",
        "a",
        "img",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "sup",
        "sub",
        "figure",
        "figcaption",
    }
)

# These are removed together with everything inside them: their content is code,
# styling or form widgets, never article text worth showing.
DROPPED_WITH_CONTENT_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "template",
        "noscript",
        "noembed",
        "noframes",
        "xmp",
        "title",
        "textarea",
        "select",
        "button",
        "canvas",
        "audio",
        "video",
    }
)

ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https"})
LINK_REL = "noopener noreferrer nofollow"

# Attributes we add ourselves; the final nh3 pass accepts them only with exactly these values.
ADDED_ATTRIBUTE_VALUES = {
    "a": {"rel": {LINK_REL}, "target": {"_blank"}},
    "img": {"referrerpolicy": {"no-referrer"}, "loading": {"lazy"}},
}

VOID_TAGS = frozenset({"br", "hr", "img"})

# Browsers ignore ASCII tabs and newlines anywhere in a URL and trim leading/trailing
# C0 controls and spaces, so "java\tscript:" must be judged as "javascript:".
_URL_IGNORED_CHARS = re.compile(r"[\t\n\r]")
_URL_TRIMMED_CHARS = "".join(chr(c) for c in range(0x21)) + "\u00a0\u3000\ufeff"


def url_normalise(*, value: str) -> str:
    return _URL_IGNORED_CHARS.sub("", value).strip(_URL_TRIMMED_CHARS)


def url_absolutise(*, value: str) -> str | None:
    """Return an absolute URL for `value`, or None when it is relative to the crawled site.

    Protocol-relative URLs (//mmbiz.qpic.cn/...) are common in WeChat articles and are
    upgraded to https; every other relative URL points nowhere on our site.
    """
    url = url_normalise(value=value)
    if url.startswith("//") and len(url) > 2 and url[2] not in "/\\":
        return "https:" + url
    return url if _url_scheme(url=url) else None


def _url_scheme(*, url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return parts.scheme.lower()


def url_is_allowed(*, value: str, schemes: frozenset[str]) -> bool:
    url = url_normalise(value=value)
    if url != value or "\\" in url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        return False
    if scheme in {"http", "https"}:
        return bool(parts.hostname)
    return bool(parts.path)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if tag == "a" and attribute == "href":
        url = url_absolutise(value=value)
        return url if url and url_is_allowed(value=url, schemes=LINK_SCHEMES) else None
    if tag == "img" and attribute == "src":
        url = url_absolutise(value=value)
        return url if url and url_is_allowed(value=url, schemes=IMAGE_SCHEMES) else None
    return value


def _relative_url_rewrite(url: str) -> str | None:
    return url_absolutise(value=url)


def html_sanitise(*, html_text: str) -> str:
    return nh3.clean(
        html_text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter,
        strip_comments=True,
        link_rel=None,
        url_schemes=set(LINK_SCHEMES),
        url_relative=_relative_url_rewrite,
    )


def html_sanitise_final(*, html_text: str) -> str:
    """Second nh3 pass: same allow-list plus only the exact attributes we add."""
    return nh3.clean(
        html_text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        tag_attribute_values={
            tag: {name: set(values) for name, values in attrs.items()}
            for tag, attrs in ADDED_ATTRIBUTE_VALUES.items()
        },
        attribute_filter=_attribute_filter,
        strip_comments=True,
        link_rel=None,
        url_schemes=set(LINK_SCHEMES),
        url_relative="deny",
    )


class _LinkAndImageRewriter(HTMLParser):
    """Re-serialise nh3 output, which is well-formed, adjusting links and images."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # One entry per open <a>: whether its start tag was written out.
        self._open_links: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a":
            self._link_start(values=values)
        elif tag == "img":
            self._image(values=values)
        elif tag in ALLOWED_TAGS:
            self.parts.append(f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            if self._open_links and self._open_links.pop():
                self.parts.append("</a>")
        elif tag in ALLOWED_TAGS and tag not in VOID_TAGS:
            self.parts.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(html.escape(data, quote=False))

    def _link_start(self, *, values: dict[str, str]) -> None:
        href = values.get("href", "")
        if not (href and url_is_allowed(value=href, schemes=LINK_SCHEMES)):
            # A link to a page of the crawled site: keep its words, drop the link.
            self._open_links.append(False)
            return
        attrs = {"href": href}
        if values.get("title"):
            attrs["title"] = values["title"]
        attrs["rel"] = LINK_REL
        if _url_scheme(url=href) in {"http", "https"}:
            attrs["target"] = "_blank"
        self.parts.append(_start_tag(tag="a", attrs=attrs))
        self._open_links.append(True)

    def _image(self, *, values: dict[str, str]) -> None:
        src = values.get("src", "")
        if not (src and url_is_allowed(value=src, schemes=IMAGE_SCHEMES)):
            return
        attrs = {"src": src}
        for name in ("alt", "title"):
            if values.get(name):
                attrs[name] = values[name]
        attrs["referrerpolicy"] = "no-referrer"
        attrs["loading"] = "lazy"
        self.parts.append(_start_tag(tag="img", attrs=attrs))


def _start_tag(*, tag: str, attrs: dict[str, str]) -> str:
    rendered = "".join(f' {name}="{html.escape(value, quote=True)}"' for name, value in attrs.items())
    return f"<{tag}{rendered}>"


def html_rewrite_links_and_images(*, html_text: str) -> str:
    rewriter = _LinkAndImageRewriter()
    rewriter.feed(html_text)
    rewriter.close()
    return "".join(rewriter.parts)


def markdown_to_html(*, markdown_text: str) -> str:
    return markdown.markdown(markdown_text, extensions=MARKDOWN_EXTENSIONS, output_format="html")


_EMPTY_PARAGRAPH = re.compile(r"<p>\s*</p>\n?")


def render_article_html(*, markdown_text: str) -> str:
    """Turn an article body (untrusted markdown, may contain HTML) into HTML safe to show."""
    if not markdown_text or not markdown_text.strip():
        return ""
    raw_html = markdown_to_html(markdown_text=markdown_text)
    sanitised = html_sanitise(html_text=raw_html)
    rewritten = html_rewrite_links_and_images(html_text=sanitised)
    final = html_sanitise_final(html_text=rewritten)
    # Removed elements (a lone <script>, an image we refused) leave empty paragraphs behind.
    return _EMPTY_PARAGRAPH.sub("", final).strip()


_WHITESPACE_RUN = re.compile(r"\s+")
ELLIPSIS = "…"
# When the cut falls inside a Latin word, back off to the previous space if it is this close.
_WORD_BACKOFF = 20


def _is_joining_char(char: str) -> bool:
    """True for characters that belong to the character before them (accents, emoji joiners)."""
    if unicodedata.combining(char):
        return True
    code = ord(char)
    return (
        code in (0x200C, 0x200D)
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or unicodedata.category(char) in {"Mn", "Me", "Mc"}
    )


def _is_regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def render_plain_excerpt(*, text: str, limit: int) -> str:
    """Plain-text excerpt of at most `limit` characters, ending with … when shortened.

    Whitespace runs collapse to one space. The cut never separates a character from
    the accents or emoji modifiers that follow it, and avoids splitting a Latin word
    when a space is close by. The result is plain text: escaping is the template's job.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    collapsed = _WHITESPACE_RUN.sub(" ", text or "").strip()
    if len(collapsed) <= limit:
        return collapsed
    cut = limit - len(ELLIPSIS)
    while cut > 0 and (_is_joining_char(collapsed[cut]) or collapsed[cut - 1] == "\u200d"):
        cut -= 1
    # Flags are pairs of regional indicators; an odd run before the cut would split one.
    run = 0
    while cut - run > 0 and _is_regional_indicator(collapsed[cut - run - 1]):
        run += 1
    if run % 2 and _is_regional_indicator(collapsed[cut]):
        cut -= 1
    if cut > 0 and collapsed[cut - 1].isascii() and collapsed[cut - 1].isalnum() and collapsed[cut].isalnum():
        space = collapsed.rfind(" ", max(0, cut - _WORD_BACKOFF), cut)
        if space > 0:
            cut = space
    head = collapsed[:cut].rstrip(" ,.;:，。；：、")
    return head + ELLIPSIS
