"""The one small engine that applies a ``RuleSet`` to the lines of an article body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .bylines import AUTHOR_LABELS, EDITOR_LABELS, labelled_fields
from .rules import SHORT_LINE, TAIL_MIN_CHARS, TAIL_MIN_SHARE, RuleSet

_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)(?:\s+\"[^\"]*\")?\)")
_IMAGE_LINE_RE = re.compile(r"^(?:\[?!\[[^\]]*\]\([^)]*\)\]?(?:\([^)]*\))?\s*)+$")
_LINK_ONLY_RE = re.compile(
    r"^(?:[*+-]\s+|\d+\.\s+)?(?:(?:!\[[^\]]*\]\([^)]*\))?\[!?\[?[^\]]*\]?(?:\([^)]*\))?\]\([^)]*\)[\s|·•,，]*)+$"
)
_HR_RE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+")
_COVER_RE = re.compile(r"^!\[cover_image\]\(([^)\s]*)[^)]*\)$")
_TABLE_SEP_RE = re.compile(r"^\|?\s*:?-{3,}")
_WORD_RE = re.compile(r"\w")
_SENTENCE_END_RE = re.compile(r"[。！？!?；;…]\**[”」』）)]?\**$|\.\**$")
_SENTENCE_PUNCT_RE = re.compile(r"[。！？!?；;，,：:]")
_LIST_ITEM_RE = re.compile(r"^(?:[*+-]|\d+[.)])\s+")
_DATELINE_RE = re.compile(r"^\*?\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?\*?$")
# A slogan is a short line in bold with no sentence in it: "**聚焦威胁态势 守护数字安全**".
_SLOGAN_RE = re.compile(r"^\*\*[^*]{2,30}\*\*$")
_PHRASES_RE = re.compile(r"\S\s*[·•|｜/]\s*\S|[\u3400-\u9fff]\s+[\u3400-\u9fff]")
# Short lines that sell the account rather than tell the story (wechat tails).
_PROMO_RE = re.compile(
    r"投稿|邮箱\s*[:：]|联系我们|商务合作|合作咨询|广告合作|二维码|长按(识别|扫码|关注|图片)|扫码|扫一扫|"
    r"视频号|后台回复|关注(我们|公众号|本号|「|“|【)|欢迎关注|点击关注|(点击|戳)(蓝字|上方|下方|阅读|这里|图片|链接)|"
    r"往期(推荐|回顾|精彩|文章|热文|内容)|精彩(推荐|回顾)|推荐阅读|阅读原文|点个?(赞|在看)|^在看$|"
    r"转发(给|到|朋友圈)|分享(给|到)|加入.{0,4}(群|社群|星球)"
)
# Closing notices: disclaimers and reprint terms.
_NOTICE_RE = re.compile(
    r"^(免责声明|版权声明|声明)[:：]|转载请|请勿转载|未经(许可|授权|允许).{0,12}(转载|复制|摘编|使用)|"
    r"原创[，,]?转载|如有侵权|"
    r"不代表本(号|平台|站)|仅代表作者(个人)?观点"
)
_READ_MORE_RE = re.compile(r"^(延伸|相关|推荐|更多)阅读[:：]?\s*\[")


@lru_cache(maxsize=256)
def union(patterns: tuple[re.Pattern[str], ...]) -> re.Pattern[str] | None:
    """One alternation per rule list: a single regex scan per line instead of one per pattern."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p.pattern})" for p in patterns))


def matches(patterns: tuple[re.Pattern[str], ...], text: str) -> bool:
    combined = union(patterns)
    return combined is not None and combined.search(text) is not None


@dataclass
class Document:
    """Lines of a body with their plain forms and a mask of fenced-code lines."""

    lines: list[str]
    plains: list[str]
    in_code: list[bool]
    keep: list[bool]


def line_plain(line: str) -> str:
    """The form rules are matched against: bold markers and surrounding whitespace removed."""
    return line.replace("**", "").strip()


def document_build(*, markdown: str) -> Document:
    lines = [line.rstrip() for line in markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    in_code: list[bool] = []
    inside = False
    for line in lines:
        if _FENCE_RE.match(line):
            in_code.append(True)
            inside = not inside
            continue
        in_code.append(inside)
    return Document(
        lines=lines,
        plains=[line_plain(line) for line in lines],
        in_code=in_code,
        keep=[True] * len(lines),
    )


def cover_image_take(*, doc: Document) -> str:
    """WeChat exports put the cover as '![cover_image](url)'; it is metadata, not body."""
    for index, plain in enumerate(doc.plains):
        match = _COVER_RE.match(plain)
        if match:
            doc.keep[index] = False
            return match.group(1)
    return ""


def is_image_line(plain: str) -> bool:
    return bool(plain) and bool(_IMAGE_LINE_RE.match(plain))


def is_link_only(plain: str) -> bool:
    return bool(plain) and bool(_LINK_ONLY_RE.match(plain))


def is_lone_punctuation(plain: str) -> bool:
    if not plain or len(plain) > 6 or _WORD_RE.search(plain):
        return False
    return not (_HR_RE.match(plain) or _FENCE_RE.match(plain) or _TABLE_SEP_RE.match(plain))


def _first_match(doc: Document, patterns: tuple[re.Pattern[str], ...], start: int, stop: int) -> int | None:
    if not patterns:
        return None
    for index in range(start, stop):
        if doc.in_code[index]:
            continue
        plain = doc.plains[index]
        if plain and matches(patterns, plain):
            return index
    return None


def _text_weight(doc: Document, index: int) -> int:
    plain = doc.plains[index]
    # Only sentences count: titles, bylines and labels are not "article read so far", and link lists
    # are what tails are made of (counting them would let a long tail veto its own cut).
    if len(plain) < 20 or plain.startswith("#") or is_image_line(plain) or is_link_only(plain):
        return 0
    return len(plain)


def region_bounds(*, doc: Document, rules: RuleSet) -> tuple[int, int, int]:
    """(start, soft_end, hard_end): body is lines[start:soft_end]; lines[start:hard_end] is scanned."""
    total = len(doc.lines)
    hard_end = _first_match(doc, rules.end_before, 0, total)
    hard_end = total if hard_end is None else hard_end
    start_marker = _first_match(doc, rules.start_after, 0, hard_end)
    start = 0 if start_marker is None else start_marker + 1

    weights = [_text_weight(doc, i) for i in range(start, hard_end)]
    total_weight = sum(weights) or 1
    soft_end = hard_end
    running = 0
    for offset, index in enumerate(range(start, hard_end)):
        plain = doc.plains[index]
        if (
            not doc.in_code[index]
            and plain
            and running >= min(total_weight * TAIL_MIN_SHARE, TAIL_MIN_CHARS)
            and matches(rules.tail_before, plain)
        ):
            soft_end = index
            break
        running += weights[offset]
    return start, soft_end, hard_end


def _drop_by_patterns(*, doc: Document, rules: RuleSet, start: int, stop: int) -> None:
    skip_next = False
    for index in range(start, stop):
        if not doc.keep[index]:
            continue
        plain = doc.plains[index]
        if doc.in_code[index]:
            if plain and matches(rules.drop_lines_in_code, plain):
                doc.keep[index] = False
            continue
        if not plain:
            continue
        if skip_next:
            doc.keep[index] = False
            skip_next = False
            continue
        if matches(rules.drop_line_and_next, plain):
            doc.keep[index] = False
            skip_next = True
            continue
        if (
            matches(rules.drop_lines, plain)
            or (len(plain) <= SHORT_LINE and matches(rules.drop_short_lines, plain))
            or is_lone_punctuation(plain)
        ):
            doc.keep[index] = False
            continue
        if rules.drop_images and "![" in plain:
            _drop_images_in_line(doc=doc, index=index, rules=rules)


def _drop_images_in_line(*, doc: Document, index: int, rules: RuleSet) -> None:
    def replace(match: re.Match[str]) -> str:
        return "" if matches(rules.drop_images, match.group(0)) else match.group(0)

    line = doc.lines[index]
    cleaned = _IMAGE_RE.sub(replace, line)
    # An image wrapped in a link "[![](img)](href)" leaves "[](href)" behind.
    cleaned = re.sub(r"(?<!!)\[\]\([^)]*\)", "", cleaned)
    if cleaned != line:
        doc.lines[index] = cleaned.rstrip()
        doc.plains[index] = line_plain(cleaned)
        if not doc.plains[index].strip("*_ "):
            doc.keep[index] = False


def _drop_orphan_table_separators(*, doc: Document, start: int, stop: int) -> None:
    """A '| --- |' row whose table rows were all dropped would render as an empty table."""
    kept = [i for i in range(start, stop) if doc.keep[i] and doc.plains[i] and not doc.in_code[i]]
    for position, index in enumerate(kept):
        if not _TABLE_SEP_RE.match(doc.plains[index]):
            continue
        before = doc.plains[kept[position - 1]] if position > 0 else ""
        after = doc.plains[kept[position + 1]] if position + 1 < len(kept) else ""
        if not before.startswith("|") and not after.startswith("|"):
            doc.keep[index] = False


def _drop_title_repeats(*, doc: Document, title: str, start: int, stop: int) -> None:
    wanted = title_key(title)
    if not wanted:
        return
    for index in range(start, stop):
        if doc.keep[index] and not doc.in_code[index] and title_key(doc.plains[index]) == wanted:
            doc.keep[index] = False


def title_key(text: str) -> str:
    text = _HEADING_RE.sub("", text)
    return re.sub(r"[\s#*_\\]+", "", text).lower()


def _drop_link_runs(*, doc: Document, start: int, stop: int) -> None:
    run: list[int] = []

    def flush() -> None:
        if len(run) >= 3:
            for i in run:
                doc.keep[i] = False
        run.clear()

    for index in range(start, stop):
        if not doc.keep[index]:
            continue
        plain = doc.plains[index]
        if not plain:
            continue
        if not doc.in_code[index] and (is_link_only(plain) or is_image_line(plain)):
            run.append(index)
        else:
            flush()
    flush()


def _trim_edges(*, doc: Document, start: int, stop: int, images: bool) -> None:
    """Drop blank/rule/(image) lines before the first and after the last line of text."""

    def is_chrome(index: int) -> bool:
        plain = doc.plains[index]
        if doc.in_code[index]:
            return False
        return not plain or bool(_HR_RE.match(plain)) or (images and is_image_line(plain))

    kept = [i for i in range(start, stop) if doc.keep[i]]
    for index in kept:
        if not is_chrome(index):
            break
        doc.keep[index] = False
    for index in reversed(kept):
        if not doc.keep[index]:
            continue
        if not is_chrome(index):
            break
        doc.keep[index] = False


def is_real_paragraph(line: str) -> bool:
    """A line a reader would call article text: a sentence, not a label, a link or a slogan."""
    plain = line_plain(line)
    if not plain or plain.startswith("#") or is_image_line(plain) or is_link_only(plain):
        return False
    text = _LIST_ITEM_RE.sub("", plain).strip("*_ ")
    if is_slogan(line):
        return False
    return len(text) >= 40 or (len(text) >= 12 and bool(_SENTENCE_END_RE.search(text)))


def is_credit_line(plain: str) -> bool:
    """'作者：甲 编辑：乙', '文 | 丙': nothing but byline fields (already read as metadata)."""
    text = plain.strip("*_ ")
    if len(text) > 40:
        return False
    fields = labelled_fields(text=text)
    return bool(fields) and all(label in AUTHOR_LABELS | EDITOR_LABELS for label, _ in fields)


def is_slogan(line: str) -> bool:
    """Matched on the raw line: the bold markers are what makes it a slogan."""
    line = line.strip()
    return bool(_SLOGAN_RE.match(line)) and not _SENTENCE_PUNCT_RE.search(line)


def is_promo_line(plain: str) -> bool:
    text = plain.strip("*_ ")
    if len(text) <= SHORT_LINE and _PROMO_RE.search(text):
        return True
    if len(text) <= 120 and _NOTICE_RE.search(text):
        return True
    return bool(_READ_MORE_RE.match(text))


def _kept(doc: Document, start: int, stop: int) -> list[int]:
    return [i for i in range(start, stop) if doc.keep[i] and doc.plains[i]]


def _lead_end(doc: Document, start: int, stop: int) -> int:
    """Index of the first real paragraph, heading or code line: the lead is everything above it."""
    for index in _kept(doc, start, stop):
        plain = doc.plains[index]
        if doc.in_code[index] or _HEADING_RE.match(plain) or is_real_paragraph(doc.lines[index]):
            return index
    return stop


def _trim_lead(*, doc: Document, rules: RuleSet, start: int, stop: int) -> None:
    """Credits and slogans above the text; on unknown sites also the menu words and logos."""
    lead_end = _lead_end(doc, start, stop)
    for index in _kept(doc, start, lead_end):
        plain = doc.plains[index]
        raw = doc.lines[index].strip()
        chrome = is_credit_line(plain) or (is_slogan(raw) and bool(_PHRASES_RE.search(plain)))
        if rules.trim_lead_chrome and not chrome:
            text = plain.strip("*_ ")
            chrome = (
                is_link_only(plain)
                or is_image_line(plain)
                or bool(_DATELINE_RE.match(text))
                # Menu entries: a few characters, no punctuation, not emphasised as a lead-in.
                or (len(text) <= 12 and not raw.startswith("**") and not _SENTENCE_PUNCT_RE.search(text))
            )
        if chrome:
            doc.keep[index] = False


def _trim_promo_tail(*, doc: Document, start: int, stop: int) -> None:
    """Walk up from the end dropping images, slogans, credits and promo lines until real text."""
    for index in reversed(_kept(doc, start, stop)):
        plain = doc.plains[index]
        if doc.in_code[index]:
            return
        if (
            is_image_line(plain)
            or is_lone_punctuation(plain)
            or is_slogan(doc.lines[index])
            or is_credit_line(plain)
            or is_promo_line(plain)
        ):
            doc.keep[index] = False
            continue
        return


def _drop_repost_card(*, doc: Document, start: int, stop: int) -> None:
    """'以下文章来源于X' / '，作者Y' / avatar / '**X**' / '.' / X's self-description."""
    for index in range(start, min(stop, start + 40)):
        match = re.match(r"^以下文章来源于\s*(.+)$", doc.plains[index])
        if not match:
            continue
        name_key = re.sub(r"\s+", "", match.group(1))
        card_seen = False
        for following in _kept(doc, index + 1, min(stop, index + 12)):
            plain = doc.plains[following]
            text = re.sub(r"\s+", "", plain.strip("*"))
            if plain.startswith("，作者") or is_image_line(plain) or plain == ".":
                doc.keep[following] = False
            elif text == name_key:
                doc.keep[following] = False
                card_seen = True
            elif card_seen and not plain.startswith("#") and len(plain) <= 200:
                doc.keep[following] = False
                return
            else:
                return
        return


def document_clean(*, doc: Document, rules: RuleSet, title: str, start: int, stop: int) -> str:
    """Apply the rule set to lines[start:stop] and return the cleaned markdown."""
    for index in range(0, start):
        doc.keep[index] = False
    for index in range(stop, len(doc.lines)):
        doc.keep[index] = False
    if rules.drop_repost_card:
        _drop_repost_card(doc=doc, start=start, stop=stop)
    _drop_by_patterns(doc=doc, rules=rules, start=start, stop=stop)
    _drop_title_repeats(doc=doc, title=title, start=start, stop=stop)
    _drop_orphan_table_separators(doc=doc, start=start, stop=stop)
    if rules.drop_link_runs:
        _drop_link_runs(doc=doc, start=start, stop=stop)
    if rules.trim_lead_credits or rules.trim_lead_chrome:
        _trim_lead(doc=doc, rules=rules, start=start, stop=stop)
    if rules.trim_promo_tail:
        _trim_promo_tail(doc=doc, start=start, stop=stop)
    _trim_edges(doc=doc, start=start, stop=stop, images=rules.trim_edge_images)
    return markdown_join(lines=[doc.lines[i] for i in range(start, stop) if doc.keep[i]])


def markdown_join(*, lines: list[str]) -> str:
    """Join kept lines, collapsing runs of blank lines and closing an unbalanced code fence."""
    out: list[str] = []
    fences = 0
    for line in lines:
        if _FENCE_RE.match(line):
            fences += 1
        if not line.strip():
            if out and out[-1] == "":
                continue
            out.append("")
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    while out and out[0] == "":
        out.pop(0)
    if fences % 2:
        out.append("```")
    return "\n".join(out) + ("\n" if out else "")
