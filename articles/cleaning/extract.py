"""Authors and original attribution found in article text."""

from __future__ import annotations

import re

from .bylines import AUTHOR_LABELS, LABEL_RE, SOURCE_LABELS, labelled_fields
from .engine import Document, is_image_line, title_key
from .rules import RuleSet

_LINK_RE = re.compile(r"!?\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
_SINGLE_LINK_RE = re.compile(r"^\[([^\]]*)\]\(([^)\s]+)[^)]*\)$")
_AUTOLINK_RE = re.compile(r"<(https?://[^>]+)>")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_URLISH_RE = re.compile(r"(?i)https?://|www\.|\.(com|net|org|cn|io|me|pro|edu|gov)\b|@")
_SPLIT_RE = re.compile(r"\s*(?:[、,，;；&]|\band\b|\s和\s)\s*")
# Words that make a byline token an organisation, a role or a process rather than a person.
_NOT_A_NAME_RE = re.compile(
    r"(编译|原创|转载|整理|来源|出品|研究院|中心|公司|实验室|团队|研究所|委员会|杂志|平台|集团|联盟|协会|"
    r"部$|局$|报$|网$|院$|^本文|^图片|^题图|责任编辑|编辑部|公众号|小编|未知|佚名)"
)
_BYLINE_SHORT_RE = re.compile(r"^[^!\[#>|`*\-+。；;：:，,“”\"]{1,30}$")

# Bylines that are not "label: value" fields.
AUTHOR_LINE_PATTERNS = tuple(
    re.compile(p)
    for p in (
        r"^，?作者\s*(?P<name>[^:：|｜/\s][^:：]*)$",
        r"^\\?\*?\s*本文为\s*(?P<name>[^\s，,。]{2,20}?)\s*编译",
        r"^By\s+(?P<name>[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){1,3})$",
    )
)


# Ordered by how sure we are that the value names the original publisher.
ATTRIBUTION_PATTERNS = tuple(
    re.compile(p)
    for p in (
        r"^以下文章来源于\s*(?P<value>.*)$",
        r"^(?:本文)?转载自\s*[:：]?\s*(?P<value>.*)$",
        r"^(?:文章|原文|资讯|新闻|内容|消息|稿件)来源\s*[:：]\s*(?P<value>.*)$",
        r"^(?:文章|原文|资讯|新闻|内容|消息|稿件)来源$",
        r"^来源\s*[:：]\s*(?P<value>.*)$",
        r"^(?:原文链接|原文地址|文章翻译自|本文翻译自|参考来源|参考及来源|参考文章|参考链接)\s*[:：]?\s*(?P<value>.*)$",
        r"文章来源\s*[:：]\s*(?P<value>[^，,。\s]+)",
        r"^Author:\s*\[?(?P<value>[^\]\(]+?)\s*(?:\(查看原文\))?\]",
    )
)


def markdown_inline_text(text: str) -> str:
    """Links to their text (or URL when the text is empty/a URL), autolinks to URLs, no bold/escapes."""

    def link(match: re.Match[str]) -> str:
        label, href = match.group(1).strip(), match.group(2).strip()
        if match.group(0).startswith("!"):
            return ""
        return href if (not label or label.startswith("http")) else label

    text = _LINK_RE.sub(link, text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    return text.replace("**", "").replace("\\", "").strip()


_PAIRS = {"（": "）", "(": ")", "【": "】"}


def _strip_wrappers(text: str) -> str:
    """'> （来源：X）' -> '来源：X'; a trailing ')' that closes a markdown link is left alone."""
    text = text.strip().lstrip(">").strip()
    if len(text) >= 2 and _PAIRS.get(text[0]) == text[-1]:
        text = text[1:-1]
    return text.strip()


def name_key(text: str) -> str:
    return re.sub(r"[\s·・\-_|｜]+", "", text).lower()


def name_is_plausible(*, name: str, exclude: tuple[str, ...]) -> bool:
    name = name.strip()
    limit = 20 if _CJK_RE.search(name) else 40
    if not (2 <= len(name) <= limit) or not re.search(r"[^\W\d_]", name):
        return False
    if _URLISH_RE.search(name) or _NOT_A_NAME_RE.search(name):
        return False
    key = name_key(name)
    return not any(ex and (key == ex or ex in key) for ex in exclude)


def names_split(*, value: str) -> list[str]:
    value = markdown_inline_text(value)
    value = re.sub(r"\s*[（(][^）)]*[）)]\s*$", "", value)  # "张三（实习生）"
    parts = [p.strip(" \t*_·.。") for p in _SPLIT_RE.split(value)]
    names: list[str] = []
    for part in parts:
        # "张三 李四" lists several Chinese names; Latin names keep their spaces.
        if _CJK_RE.search(part) and " " in part:
            names.extend(p for p in part.split() if p)
        elif part:
            names.append(part)
    return names


def wechat_account_name(*, doc: Document) -> str:
    """The account name is printed right above '向上滑动看下一个' in the exported page footer."""
    for index, plain in enumerate(doc.plains):
        if plain == "向上滑动看下一个":
            for back in range(index - 1, max(index - 4, -1), -1):
                candidate = doc.plains[back]
                if candidate and not is_image_line(candidate):
                    return candidate if len(candidate) <= 30 else ""
            return ""
    return ""


def wechat_byline(*, doc: Document, title: str, account: str) -> tuple[list[str], list[int]]:
    """(author candidates, line indices of the byline) from the lines under the repeated title."""
    wanted = title_key(title)
    heading_index = None
    seen_text = 0
    for index, plain in enumerate(doc.plains):
        if not plain or is_image_line(plain):
            continue
        if plain.startswith("#") and title_key(plain) == wanted:
            heading_index = index
            continue
        seen_text += 1
        if seen_text > 3:
            break
    if heading_index is None:
        return [], []

    collected: list[int] = []
    for index in range(heading_index + 1, min(heading_index + 14, len(doc.plains))):
        plain = doc.plains[index]
        if not plain:
            continue
        if not _BYLINE_SHORT_RE.match(plain) or len(collected) >= 5:
            break
        collected.append(index)
    if not collected:
        return [], []

    account_key = name_key(account)
    account_at = None
    for position, index in enumerate(collected):
        if account_key and name_key(doc.plains[index]) == account_key:
            account_at = position
    if account_at is None:
        if account_key or len(collected) > 3:
            return [], []
        # Footer missing: the account name is the last short line of the byline.
        account_at = len(collected) - 1
    byline = collected[: account_at + 1]
    authors: list[str] = []
    for index in byline[:account_at]:
        authors.extend(names_split(value=doc.plains[index]))
    return authors, byline


def authors_find(*, doc: Document, start: int, stop: int, rules: RuleSet, markdown: str) -> list[str]:
    found: list[str] = []
    for pattern in rules.author_patterns:
        for match in pattern.finditer(markdown):
            found.extend(names_split(value=match.group("name")))
    for index in range(start, stop):
        if doc.in_code[index]:
            continue
        plain = _strip_wrappers(doc.plains[index])
        if not plain or len(plain) > 60 or not _AUTHOR_HINT_RE.search(plain):
            continue
        fields = labelled_fields(text=plain)
        if fields:
            for label, value in fields:
                if label in AUTHOR_LABELS:
                    found.extend(names_split(value=value))
            continue
        for pattern in AUTHOR_LINE_PATTERNS:
            match = pattern.match(plain)
            if match:
                found.extend(names_split(value=match.group("name")))
                break
    return found


def authors_select(*, candidates: list[str], exclude: tuple[str, ...]) -> tuple[str, ...]:
    keys = tuple(name_key(e) for e in exclude if e)
    result: list[str] = []
    seen: set[str] = set()
    for name in candidates:
        name = name.strip()
        key = name_key(name)
        if key in seen or not name_is_plausible(name=name, exclude=keys):
            continue
        seen.add(key)
        result.append(name)
    return tuple(result[:10])


_ATTRIBUTION_HINT_RE = re.compile(r"来源|转载|原文|翻译自|参考|Author")
_AUTHOR_HINT_RE = re.compile(
    "|".join(
        [LABEL_RE.pattern.replace("(?P<label>", "(?:")]
        + [f"(?:{p.pattern.replace('(?P<name>', '(?:')})" for p in AUTHOR_LINE_PATTERNS]
    )
)


def attribution_find(*, doc: Document, start: int, stop: int) -> str:
    best: tuple[int, str] | None = None
    for index in range(start, stop):
        if doc.in_code[index] or not _ATTRIBUTION_HINT_RE.search(doc.plains[index]):
            continue
        plain = _strip_wrappers(doc.plains[index])
        if not plain or len(plain) > 300:
            continue
        sources = [value for label, value in labelled_fields(text=plain) if label in SOURCE_LABELS]
        if sources:
            # "作者：甲 来源：乙 编辑：丙": only the 来源 field names the origin.
            plain = f"来源：{sources[0]}"
        for rank, pattern in enumerate(ATTRIBUTION_PATTERNS):
            if best is not None and rank >= best[0]:
                break
            match = pattern.search(plain)
            if not match:
                continue
            value = match.groupdict().get("value") or ""
            if not value.strip():
                value = _next_text(doc=doc, index=index, stop=stop)
            value = _attribution_clean(value)
            if value:
                best = (rank, value)
                break
    return best[1] if best else ""


def _next_text(*, doc: Document, index: int, stop: int) -> str:
    for following in range(index + 1, min(index + 4, stop)):
        if doc.plains[following]:
            return doc.plains[following]
    return ""


def _attribution_clean(value: str) -> str:
    value = _strip_wrappers(value)
    single = _SINGLE_LINK_RE.match(value)
    if single and " " in single.group(1).strip():
        # A link whose text is an article title: the URL says more about the origin.
        value = single.group(2)
    value = _strip_wrappers(markdown_inline_text(value))
    # "…/url如若转载，请注明原文地址" and similar trailers are not part of the source.
    value = re.split(r"如若转载|转载请|，如有侵权|如有侵权", value)[0]
    value = value.strip(" 。，,;；:：*")
    return value[:200]
