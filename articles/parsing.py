"""Reading crawled article files: bytes -> decoded text -> front matter + markdown body.

Input comes from crawlers we do not control, so everything here is tolerant where it can be
(odd encodings, front matter that is not valid YAML, dates in several formats) and fails with a
plain-Chinese ``ParseError`` where it cannot. Nothing else is ever raised for bad input.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import yaml

from .canonical import canonical_url
from .untrusted import text_controls_strip, url_http_only, url_shown

SHANGHAI = ZoneInfo("Asia/Shanghai")
_YAML_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _YamlLoader(_YAML_BASE_LOADER):
    """The safe loader (the C one when built) that leaves timestamps as the text they were.

    PyYAML builds a datetime for anything shaped like one and raises ValueError for
    "0000-00-00"; our own date_parse/datetime_parse read the text and can say what was wrong.
    """


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))

TITLE_KEYS = ("title",)
URL_KEYS = ("url", "link", "source_url")
SOURCE_KEYS = ("source", "account", "site")
PUBLISHED_KEYS = ("date", "published", "publish_date", "pub_date")
FETCHED_KEYS = ("fetch_date", "fetched_at", "fetched", "crawl_date")

# Control characters that never appear in real text files; many of them means binary data.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Lines with their "\n". Not str.splitlines(): it also breaks at \x0b, \x0c, \x1c-\x1e, \x85,
# \u2028 and \u2029, which crawled titles contain; \r\n and \r are normalised before parsing.
_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+\Z")
_FENCE_RE = re.compile(r"^(---|\.\.\.)\s*$")
_FALLBACK_LINE_RE = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*[:：][ \t]?(.*)$")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_IMAGE_RE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_WORD_RE = re.compile(r"\w")

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
# Every time form YAML's timestamps allow: "T" or spaces, any fraction, "Z" or offsets like -5, +8:30, +0800.
_TIME_RE = re.compile(r"[Tt\s](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*([Zz]|[+-]\d{1,2}(?::?\d{2})?)?$")
CONTROLS_REMOVED = "标题或元数据中的控制字符已删除"


class ParseError(Exception):
    """str(exc) is a plain-Chinese reason a person understands."""


@dataclass(frozen=True)
class ParsedFile:
    title: str
    url: str
    source: str
    published: datetime.date | None
    fetched_at: datetime.datetime | None
    body: str
    text: str
    encoding: str
    warnings: tuple[str, ...] = ()


def size_describe(*, size: int) -> str:
    """Human-readable byte size, e.g. '3.2 MB'."""
    if size < 1024:
        return f"{size} 字节"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _looks_like_utf16(data: bytes) -> str | None:
    # BOM-less UTF-16 shows up as a NUL in every other byte for mostly-ASCII text.
    sample = data[:4096]
    if len(sample) < 8:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_nuls > 0.3 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.3 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes to text; returns (text, encoding name) or raises ParseError."""
    if not data:
        raise ParseError("文件是空的")
    text: str | None = None
    encoding = ""
    if data.startswith(b"\xef\xbb\xbf"):
        text, encoding = _decode_strict(data[3:], "utf-8"), "utf-8"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = _decode_strict(data, "utf-16"), "utf-16"
        if text is not None:
            text = text.lstrip("\ufeff")
    elif b"\x00" in data:
        codec = _looks_like_utf16(data)
        if codec is None:
            raise ParseError("文件包含二进制数据（不是文本文件）")
        text, encoding = _decode_strict(data, codec), "utf-16"
    else:
        text = _decode_strict(data, "utf-8")
        encoding = "utf-8"
        if text is None:
            text, encoding = _decode_strict(data, "gb18030"), "gb18030"
    if text is None:
        if encoding == "utf-16":
            raise ParseError("文件编码无法识别（带 UTF-16 标记，但内容不是有效的 UTF-16）")
        raise ParseError("文件编码无法识别（既不是 UTF-8 也不是 GB18030）")
    if "\x00" in text or len(_CONTROL_RE.findall(text[:20000])) > 8:
        raise ParseError("文件包含二进制数据（不是文本文件）")
    return text, encoding


def _decode_strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def front_matter_split(*, text: str) -> tuple[str, str]:
    """Split '---\\n<front matter>\\n---\\n<body>'; ParseError when there is no front matter."""
    lines = _LINE_RE.findall(text.lstrip("\ufeff"))
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first >= len(lines) or lines[first].strip() != "---":
        raise ParseError("不是文章文件：开头没有用 --- 包围的元数据（标题、链接、来源等）")
    for index in range(first + 1, len(lines)):
        if _FENCE_RE.match(lines[index]):
            return "".join(lines[first + 1 : index]), "".join(lines[index + 1 :])
    raise ParseError("不是文章文件：元数据开头有 ---，但找不到结束的 --- 行")


def front_matter_load(*, raw: str) -> tuple[dict[str, object], bool]:
    """Returns (fields, used_fallback). Strict YAML first, line-based `key: value` when YAML fails."""
    fallback = _front_matter_lines(raw=raw)
    try:
        loaded = yaml.load(raw, Loader=_YamlLoader)  # a safe loader, see _YamlLoader
    except yaml.YAMLError:
        loaded = None
    if not isinstance(loaded, dict):
        return dict(fallback), bool(raw.strip())
    fields: dict[str, object] = {str(k).strip().lower(): v for k, v in loaded.items()}
    # YAML turns titles like "2024" or "yes" into numbers/booleans; the raw line is what was meant.
    # Crawlers do not escape " #" either, which YAML reads as the start of a comment.
    for key, value in fields.items():
        if key not in fallback:
            continue
        if not isinstance(value, str | datetime.date) and value is not None:
            fields[key] = fallback[key]
        elif isinstance(value, str) and " #" in fallback[key] and value != fallback[key]:
            fields[key] = fallback[key]
    return fields, False


def _front_matter_lines(*, raw: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in raw.split("\n"):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _FALLBACK_LINE_RE.match(line.replace("\t", " "))
        if not match:
            continue
        key = match.group(1).lower()
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        fields.setdefault(key, value)
    return fields


def date_parse(*, value: object) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value or "").strip()
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                day = datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
                # "2024-05-01T25:61:61" was written by something broken; its day is no more trustworthy.
                _time_read(text=text)
            except ValueError:
                return None
            return day
    return None


def _time_read(*, text: str) -> tuple[datetime.time, datetime.tzinfo | None] | None:
    """The time written after a date, and its offset; None when there is none, ValueError when impossible."""
    match = _TIME_RE.search(text)
    if not match:
        return None
    micro = int((match.group(4) or "")[:6].ljust(6, "0"))
    moment = datetime.time(int(match.group(1)), int(match.group(2)), int(match.group(3) or 0), micro)
    offset = match.group(5)
    return moment, _offset_tz(offset=offset) if offset else None


def datetime_parse(*, value: object) -> datetime.datetime | None:
    """Timezone-aware datetime; naive values are taken as Asia/Shanghai."""
    if isinstance(value, datetime.datetime):
        result = value
    elif isinstance(value, datetime.date):
        result = datetime.datetime(value.year, value.month, value.day)
    else:
        text = str(value or "").strip()
        day = date_parse(value=text)
        if day is None:
            return None
        result = datetime.datetime(day.year, day.month, day.day)
        time = _time_read(text=text)  # date_parse has already refused an impossible time
        if time is not None:
            result = datetime.datetime.combine(day, time[0], tzinfo=time[1])
    if result.tzinfo is None:
        result = result.replace(tzinfo=SHANGHAI)
    return result


def _offset_tz(*, offset: str) -> datetime.tzinfo:
    if offset in ("Z", "z"):
        return datetime.UTC
    sign = -1 if offset[0] == "-" else 1
    hours, _, minutes = offset[1:].partition(":")
    if not minutes and len(hours) > 2:
        hours, minutes = hours[:-2], hours[-2:]
    delta = datetime.timedelta(hours=int(hours), minutes=int(minutes or 0))
    return datetime.timezone(sign * delta)  # ValueError for a day or more, as for any impossible time


def _first_value(fields: dict[str, object], keys: tuple[str, ...]) -> object:
    for key in keys:
        value = fields.get(key)
        if value not in (None, ""):
            return value
    return None


def _clean_str(value: object) -> str:
    if value is None:
        return ""
    return re.sub(r"\s+", " ", str(value)).strip()


def first_heading(*, body: str) -> str:
    in_code = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        match = _HEADING_RE.match(line)
        if match and line.lstrip().startswith("# "):
            title = _clean_str(match.group(1).replace("**", ""))
            if title:
                return title
    return ""


def body_is_empty(*, body: str, title: str) -> bool:
    """True when nothing but blank lines, images and repeated title headings follow the front matter."""
    norm_title = _clean_str(title).lower()
    for line in body.splitlines():
        heading = _HEADING_RE.match(line)
        content = heading.group(1) if heading else line
        content = _LINK_RE.sub(r"\1", _IMAGE_RE.sub("", content))
        content = _clean_str(content.replace("**", ""))
        if heading and content.lower() == norm_title:
            continue
        if _WORD_RE.search(content):
            return False
    return True


def _url_read(*, value: str, warnings: list[str]) -> str:
    """The article's URL when it is http(s); "" (and a warning saying why) otherwise."""
    if not value:
        warnings.append("缺少 url 字段")
        return ""
    if "://" not in value and canonical_url(value):
        # A bare "www.example.cn/a.html" is read as https by canonical_url; store it the same way.
        value = "https://" + value
    if not url_http_only(value=value):
        warnings.append(f"原文链接不是 http(s) 地址，已忽略：{url_shown(value=value)}")
        return ""
    return value


def parse_article(*, data: bytes, max_bytes: int | None = None) -> ParsedFile:
    """Parse one crawled article file. Raises only ParseError."""
    if max_bytes is not None and len(data) > max_bytes:
        raise ParseError(
            f"文件太大：{size_describe(size=len(data))}，超过了允许的上限 {size_describe(size=max_bytes)}"
        )
    try:
        return _parse_article(data=data)
    except ParseError:
        raise
    except Exception as exc:  # the contract: bad input must never surface as anything but ParseError
        raise ParseError(f"文件无法解析（{type(exc).__name__}）") from exc


def _parse_article(*, data: bytes) -> ParsedFile:
    text, encoding = decode_bytes(data)
    raw_front, body = front_matter_split(text=text.replace("\r\n", "\n").replace("\r", "\n"))
    # Control characters go before YAML sees them: YAML refuses most of them, and the
    # line-by-line fallback would then read the fields less well than YAML does.
    front = text_controls_strip(value=raw_front)
    controls_removed = front != raw_front
    fields, used_fallback = front_matter_load(raw=front)
    warnings: list[str] = []
    if used_fallback:
        warnings.append("元数据不是标准 YAML 格式，已按“键: 值”逐行读取")
    if not fields:
        raise ParseError("不是文章文件：--- 之间没有可读的元数据（标题、链接、来源等）")

    title = _clean_str(_first_value(fields, TITLE_KEYS))
    if not title:
        heading = first_heading(body=body)
        title = _clean_str(text_controls_strip(value=heading))
        controls_removed = controls_removed or title != heading
        if not title:
            raise ParseError("缺少标题：元数据里没有 title，正文里也没有 # 标题")
        warnings.append("缺少 title 字段，已使用正文中的第一个标题")

    url = _url_read(value=_clean_str(_first_value(fields, URL_KEYS)), warnings=warnings)
    source = _clean_str(_first_value(fields, SOURCE_KEYS))
    if not source:
        warnings.append("缺少 source 字段")
    if controls_removed:
        warnings.append(CONTROLS_REMOVED)

    fetched_raw = _first_value(fields, FETCHED_KEYS)
    fetched_at = datetime_parse(value=fetched_raw)
    published_raw = _first_value(fields, PUBLISHED_KEYS)
    published = date_parse(value=published_raw)
    if published_raw is None:
        warnings.append("缺少 date 字段")
    elif published is None:
        shown = _clean_str(published_raw)[:40]
        if fetched_at is not None:
            published = fetched_at.astimezone(SHANGHAI).date()
            warnings.append(f"无法识别的发布日期“{shown}”，已改用抓取日期 {published.isoformat()}")
        else:
            warnings.append(f"无法识别的发布日期“{shown}”，也没有可用的抓取日期，发布日期留空")
    if fetched_raw is not None and fetched_at is None:
        warnings.append(f"无法识别的抓取时间“{_clean_str(fetched_raw)[:40]}”")

    if body_is_empty(body=body, title=title):
        raise ParseError("正文为空")

    return ParsedFile(
        title=title,
        url=url,
        source=source,
        published=published,
        fetched_at=fetched_at,
        body=body.strip("\n") + "\n",
        text=text,
        encoding=encoding,
        warnings=tuple(warnings),
    )
