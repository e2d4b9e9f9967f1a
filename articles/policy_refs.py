"""Find the policy documents an article mentions.

Two kinds of mention are recognised:

* document numbers (文号) such as 国办发〔2023〕12号, however the brackets, digits and
  spaces were typed, normalised to the official 〔YYYY〕N号 form;
* titles in 《》 that read like a policy document (…办法, …条例, …通知 and so on),
  including titles quoted inside another title with 〈〉.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

KIND_TITLE = "title"
KIND_NUMBER = "number"


@dataclass(frozen=True)
class PolicyRef:
    kind: str  # KIND_TITLE or KIND_NUMBER
    text: str  # normalised form used as the key
    raw: str  # as found


# --- document numbers ---------------------------------------------------------------------------

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
_DIGIT = r"[0-9０-９]"
_OPEN = r"[〔﹝\[［(（【]"
_CLOSE = r"[〕﹞\]］)）】]"
_SPACE = r"[ \t\u00a0\u3000]*"

_DOC_NUMBER = re.compile(
    rf"(?P<issuer>[{_CJK}]{{2,12}}){_SPACE}{_OPEN}{_SPACE}(?P<year>{_DIGIT}{{4}}){_SPACE}{_CLOSE}"
    rf"{_SPACE}第?{_SPACE}(?P<serial>{_DIGIT}{{1,4}}){_SPACE}号"
)

# Words and characters that never occur in an issuer's abbreviation but often sit right
# before one ("根据国发〔…", "和国办发〔…", "落实工信部…"): the issuer starts after the last of
# them. 据/照/行/实 only count as parts of words, since 数据局 or 银行 may issue documents.
_BEFORE_ISSUER_WORDS = (
    "根据",
    "依据",
    "据此",
    "按照",
    "依照",
    "参照",
    "对照",
    "遵照",
    "落实",
    "贯彻",
    "执行",
    "实行",
    "施行",
    "印发",
    "发布",
    "出台",
    "通过",
    "转发",
)
_BEFORE_ISSUER_CHARS = frozenset("的了和与及或即见以在于是为对将把被由从等并如称后至号第按依")

_YEAR_RANGE = range(1949, 2100)


def _issuer_trim(*, candidate: str) -> str:
    start = 0
    for word in _BEFORE_ISSUER_WORDS:
        index = candidate.rfind(word)
        if index >= 0:
            start = max(start, index + len(word))
    for index in range(len(candidate) - 1, start - 1, -1):
        if candidate[index] in _BEFORE_ISSUER_CHARS:
            return candidate[index + 1 :]
    return candidate[start:]


def _half_width_digits(value: str) -> str:
    return unicodedata.normalize("NFKC", value)


def _doc_number_from_match(match: re.Match[str]) -> tuple[str, int] | None:
    """Return (normalised number, offset of the issuer in the match) or None if implausible."""
    candidate = match.group("issuer")
    issuer = _issuer_trim(candidate=candidate)
    if len(issuer) < 2:
        return None
    year = int(_half_width_digits(match.group("year")))
    serial = int(_half_width_digits(match.group("serial")))
    if year not in _YEAR_RANGE or serial == 0:
        return None
    return f"{issuer}〔{year}〕{serial}号", len(candidate) - len(issuer)


def normalise_doc_number(raw: str) -> str:
    """国办发 [２０２３] 12 号 -> 国办发〔2023〕12号; ValueError if `raw` is not a document number."""
    match = _DOC_NUMBER.fullmatch(raw.strip(" \t\u00a0\u3000"))
    found = _doc_number_from_match(match) if match else None
    if found is None or found[1] != 0:
        raise ValueError(f"not a document number: {raw!r}")
    return found[0]


# --- titles -------------------------------------------------------------------------------------

# One level of 《》 nesting inside a title is tolerated (关于印发《…办法》的通知).
_TITLE = re.compile(r"《((?:[^《》\n]|《[^《》\n]*》){1,120})》")
_INNER_TITLE = re.compile("[《〈\u2329]([^《》〈〉\u2329\u232a\n]{1,120})[》〉\u232a]")

_TITLE_SUFFIXES = (
    "法",
    "法典",
    "修正案",
    "条例",
    "规定",
    "办法",
    "意见",
    "通知",
    "决定",
    "决议",
    "规划",
    "方案",
    "指南",
    "标准",
    "规范",
    "纲要",
    "细则",
    "规则",
    "目录",
    "清单",
    "指引",
    "要求",
    "计划",
    "框架",
    "路线图",
    "公告",
    "通告",
)

# Titles ending in 法 that are books or everyday words, not laws (孙子兵法, 算法导论 is caught
# by the suffix rule already).
_NOT_A_LAW_ENDINGS = (
    "方法",
    "算法",
    "兵法",
    "语法",
    "书法",
    "手法",
    "做法",
    "想法",
    "看法",
    "说法",
    "写法",
    "用法",
    "魔法",
    "疗法",
    "技法",
    "画法",
    "笔法",
    "心法",
    "章法",
    "戏法",
    "活法",
    "玩法",
    "打法",
    "功法",
    "大法",
    "佛法",
    "剑法",
    "刀法",
)

# Trailing qualifiers such as (试行), (征求意见稿), (2024年版), (2024—2026年).
_TRAILING_QUALIFIER = re.compile(r"\s*\([^()]{1,24}\)$")

_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_EMPHASIS = re.compile(r"\*\*|__|\\(?=\S)")
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}\u3000-\u303f\uff00-\uffef])\s+|\s+(?=[{_CJK}\u3000-\u303f])")
_SPACE_RUN = re.compile(r"\s+")

TITLE_MIN_LENGTH = 4
TITLE_MAX_LENGTH = 60


def _full_width_ascii_to_half(value: str) -> str:
    # NFKC only on full-width ASCII forms (brackets, digits, letters) and the old angle
    # brackets; the rest of the title keeps the characters it was written with.
    chars = []
    for char in value:
        code = ord(char)
        if 0xFF01 <= code <= 0xFF5E or char in "\u2329\u232a\u3000":
            char = unicodedata.normalize("NFKC", char)
        chars.append(char)
    return "".join(chars)


def normalise_title(raw: str) -> str:
    """Title as a key: markdown residue removed, brackets half-width, nested quotes as 〈〉."""
    value = _MARKDOWN_LINK.sub(r"\1", raw)
    value = _MARKDOWN_EMPHASIS.sub("", value)
    value = _full_width_ascii_to_half(value).replace("《", "〈").replace("》", "〉")
    value = _SPACE_BETWEEN_CJK.sub("", value)
    return _SPACE_RUN.sub(" ", value).strip()


def title_is_policy(*, title: str) -> bool:
    if not TITLE_MIN_LENGTH <= len(title) <= TITLE_MAX_LENGTH:
        return False
    core = title
    for _ in range(2):
        core = _TRAILING_QUALIFIER.sub("", core)
    if len(core) < TITLE_MIN_LENGTH - 1 or not core.endswith(_TITLE_SUFFIXES):
        return False
    return not core.endswith(_NOT_A_LAW_ENDINGS)


def _title_refs(*, text: str) -> list[tuple[int, PolicyRef]]:
    found: list[tuple[int, PolicyRef]] = []
    for match in _TITLE.finditer(text):
        raw = match.group(1)
        title = normalise_title(raw)
        if title_is_policy(title=title):
            found.append((match.start(), PolicyRef(kind=KIND_TITLE, text=title, raw=raw)))
        # A title quoted inside another (印发〈…办法〉的通知) is a reference of its own.
        for inner in _INNER_TITLE.finditer(raw):
            inner_title = normalise_title(inner.group(1))
            if title_is_policy(title=inner_title):
                position = match.start(1) + inner.start()
                found.append((position, PolicyRef(kind=KIND_TITLE, text=inner_title, raw=inner.group(1))))
    return found


# Where a number's year starts: the rare places ``_DOC_NUMBER`` can match at all.
_YEAR_OPENED = re.compile(rf"{_OPEN}{_SPACE}{_DIGIT}{{4}}")
_SPACE_CHARS = frozenset(" \t\u00a0\u3000")
_ISSUER_MAX = 12  # (``_DOC_NUMBER``'s issuer: 2 to 12 CJK characters)


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u4dbf" or "\u4e00" <= ch <= "\u9fff"


def doc_number_matches(*, text: str) -> Iterator[re.Match[str]]:
    """``_DOC_NUMBER.finditer(text)``, the same matches, found from the brackets.

    The pattern opens with its issuer, so the regex engine tried it at every CJK character
    of the text, twelve lengths each (a thirtieth of ingesting an article). A match's
    issuer always ends right before the spaces and bracket of a year; it starts where the
    CJK run before them does, at most 12 characters back, and never before the previous
    match's end: the one place ``finditer`` would find it. Held equal to ``finditer`` on
    both corpora and on made-up edge cases (``test_policy_refs.py``)."""
    end = 0
    for opened in _YEAR_OPENED.finditer(text):
        issuer_end = opened.start()
        if issuer_end < end:
            continue
        while issuer_end > end and text[issuer_end - 1] in _SPACE_CHARS:
            issuer_end -= 1
        start, stop = issuer_end, max(end, issuer_end - _ISSUER_MAX)
        while start > stop and _is_cjk(text[start - 1]):
            start -= 1
        if issuer_end - start < 2:
            continue
        match = _DOC_NUMBER.match(text, start)
        if match is not None:
            yield match
            end = match.end()


def _number_refs(*, text: str) -> list[tuple[int, PolicyRef]]:
    found: list[tuple[int, PolicyRef]] = []
    for match in doc_number_matches(text=text):
        number = _doc_number_from_match(match)
        if number is None:
            continue
        normalised, offset = number
        start = match.start() + offset
        found.append((start, PolicyRef(kind=KIND_NUMBER, text=normalised, raw=text[start : match.end()])))
    return found


def extract_policy_refs(*, text: str) -> list[PolicyRef]:
    """Policy documents mentioned in `text`, unique by normalised text, in order of first mention."""
    if not text:
        return []
    candidates = sorted(_title_refs(text=text) + _number_refs(text=text), key=lambda item: item[0])
    seen: set[str] = set()
    refs: list[PolicyRef] = []
    for _, ref in candidates:
        if ref.text not in seen:
            seen.add(ref.text)
            refs.append(ref)
    return refs


# A title followed at once by its number in brackets, 《…》（国办发〔2024〕12号）: the text says
# they are one document.
_TITLE_THEN_NUMBER = re.compile(
    rf"《((?:[^《》\n]|《[^《》\n]*》){{1,120}})》{_SPACE}[（(]{_SPACE}(?P<number>[^（()）\n，,；;]{{4,40}}?){_SPACE}"
    # (…号，以下简称《意见》）: what follows a comma inside the brackets is not the number
    rf"(?:[，,；;][^（()）\n]{{0,40}})?[）)]"
)


def linked_refs(*, text: str) -> list[tuple[str, str]]:
    """(title, number) pairs the text links by writing the number in brackets right after the
    title, both normalised as ``extract_policy_refs`` would; only titles that read like policy."""
    pairs: list[tuple[str, str]] = []
    for match in _TITLE_THEN_NUMBER.finditer(text or ""):
        title = normalise_title(match.group(1))
        if not title_is_policy(title=title):
            continue
        try:
            number = normalise_doc_number(match.group("number"))
        except ValueError:
            continue
        if (title, number) not in pairs:
            pairs.append((title, number))
    return pairs
