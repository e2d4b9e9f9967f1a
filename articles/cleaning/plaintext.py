"""Cleaned markdown -> plain text (one paragraph per line) and a short summary."""

from __future__ import annotations

import re

_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
_AUTOLINK_RE = re.compile(r"<(https?://[^>]+)>")
_HTML_TAG_RE = re.compile(r"</?[a-zA-Z][^>]{0,200}>")
# Raw HTML elements whose content is code or markup, never reading text.
_HIDDEN_BLOCK_RE = re.compile(
    r"<(script|style|noscript|template|iframe|object|svg|math)\b[^>]*>.*?(</\1\s*>|\Z)|<!--.*?(-->|\Z)",
    re.IGNORECASE | re.DOTALL,
)
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s*")
_QUOTE_RE = re.compile(r"^\s*(>\s?)+")
_BULLET_RE = re.compile(r"^\s*[*+-]\s+")
_ORDERED_RE = re.compile(r"^\s*\d+[.)]\s+")
_HR_RE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_RULE_LINE_RE = re.compile(r"^\s*[-=_*~+#.]{3,}\s*$")
_TABLE_SEP_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_EMPHASIS_RE = re.compile(r"(\*\*|__|~~)")
_SINGLE_STAR_RE = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ESCAPE_RE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~])")
_SPACES_RE = re.compile(r"[ \t\u3000\xa0]+")
_SENTENCE_END_RE = re.compile(r"[。！？!?；;]|\.(?=\s|$)")
_ASCII_TAIL_RE = re.compile(r"[A-Za-z0-9,.;:!?)\]'\"%]$")
_ASCII_HEAD_RE = re.compile(r"^[A-Za-z0-9(\['\"]")

SUMMARY_LIMIT = 200
SUMMARY_MIN = 25


# Every pattern of ``inline_plain`` but the spaces needs one of these; most lines have none.
_MARKUP_CHAR_RE = re.compile(r"[\[<*_~`\\]")


def inline_plain(text: str) -> str:
    if _MARKUP_CHAR_RE.search(text) is None:
        return _SPACES_RE.sub(" ", text).strip()
    return inline_plain_every_pattern(text)


def inline_plain_every_pattern(text: str) -> str:
    """``inline_plain`` without its shortcut (the tests hold the two equal on real files)."""
    text = _IMAGE_RE.sub("", text)

    def link(match: re.Match[str]) -> str:
        label = match.group(1).strip()
        return label or match.group(2)

    text = _LINK_RE.sub(link, text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    text = _HTML_TAG_RE.sub("", text)
    text = _EMPHASIS_RE.sub("", text)
    text = _SINGLE_STAR_RE.sub(r"\1", text)
    text = text.replace("`", "")
    text = _ESCAPE_RE.sub(r"\1", text)
    return _SPACES_RE.sub(" ", text).strip()


def _line_kind(line: str) -> str:
    if _HEADING_RE.match(line) and line.lstrip().startswith("#"):
        return "heading"
    if _BULLET_RE.match(line) or _ORDERED_RE.match(line):
        return "item"
    if line.lstrip().startswith("|"):
        return "table"
    return "text"


def _join(left: str, right: str) -> str:
    if _ASCII_TAIL_RE.search(left) and _ASCII_HEAD_RE.match(right):
        return f"{left} {right}"
    return left + right


def _hidden_blocks_strip(markdown: str) -> str:
    """Drop raw script/style/comment blocks, except inside fenced code (a write-up keeps its payload)."""
    chunks: list[str] = []
    prose: list[str] = []
    in_code = False
    for line in markdown.split("\n"):
        if _FENCE_RE.match(line):
            if not in_code:
                chunks.append(_HIDDEN_BLOCK_RE.sub("", "\n".join(prose)))
                prose = []
                chunks.append(line)
            else:
                chunks.append(line)
            in_code = not in_code
        elif in_code:
            chunks.append(line)
        else:
            prose.append(line)
    chunks.append(_HIDDEN_BLOCK_RE.sub("", "\n".join(prose)))
    return "\n".join(chunk for chunk in chunks)


def markdown_to_text(markdown: str) -> str:
    """Plain text: markdown syntax removed, one paragraph (or list item / code line) per line."""
    markdown = _hidden_blocks_strip(markdown)
    out: list[str] = []
    paragraph = ""
    in_code = False

    def flush() -> None:
        nonlocal paragraph
        if paragraph:
            out.append(paragraph)
        paragraph = ""

    for raw in markdown.split("\n"):
        if _FENCE_RE.match(raw):
            flush()
            in_code = not in_code
            continue
        if in_code:
            # A plain-text advisory's underlines and separators (-----, =====, _____) are
            # drawing, not words: they would show up as bare dashes in snippets.
            if raw.strip() and not _RULE_LINE_RE.match(raw):
                out.append(raw.rstrip())
            continue
        if not raw.strip() or _HR_RE.match(raw) or _TABLE_SEP_RE.match(raw):
            flush()
            continue
        kind = _line_kind(raw)
        line = _QUOTE_RE.sub("", raw)
        if kind == "heading":
            line = _HEADING_RE.sub("", line).rstrip("# ")
        elif kind == "item":
            line = _BULLET_RE.sub("", line)
        elif kind == "table":
            line = " ".join(cell.strip() for cell in line.strip().strip("|").split("|") if cell.strip())
        text = inline_plain(line)
        if not text:
            continue
        if kind == "text" and paragraph:
            paragraph = _join(paragraph, text)
            continue
        flush()
        if kind == "text":
            paragraph = text
        else:
            out.append(text)
    flush()
    return "\n".join(out)


def _meaningful(line: str) -> bool:
    if len(line) < SUMMARY_MIN or line.endswith(("：", ":")):
        return False
    letters = sum(1 for ch in line if ch.isalpha())
    return letters >= len(line) * 0.4


def summary_make(*, text: str, limit: int = SUMMARY_LIMIT) -> str:
    """First meaningful paragraph, trimmed at a sentence boundary to about `limit` characters."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    chosen = next((line for line in lines if _meaningful(line)), lines[0] if lines else "")
    if len(chosen) <= limit:
        return chosen
    head = chosen[:limit]
    ends = [m.end() for m in _SENTENCE_END_RE.finditer(head)]
    if ends and ends[-1] >= limit * 0.3:
        return head[: ends[-1]].strip()
    return head.rstrip() + "…"
