"""The one small engine that applies a ``RuleSet`` to the lines of an article body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

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


def document_clean(*, doc: Document, rules: RuleSet, title: str, start: int, stop: int) -> str:
    """Apply the rule set to lines[start:stop] and return the cleaned markdown."""
    for index in range(0, start):
        doc.keep[index] = False
    for index in range(stop, len(doc.lines)):
        doc.keep[index] = False
    _drop_by_patterns(doc=doc, rules=rules, start=start, stop=stop)
    _drop_title_repeats(doc=doc, title=title, start=start, stop=stop)
    _drop_orphan_table_separators(doc=doc, start=start, stop=stop)
    if rules.drop_link_runs:
        _drop_link_runs(doc=doc, start=start, stop=stop)
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
