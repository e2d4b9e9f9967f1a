from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from articles.parsing import ParseError, decode_bytes, parse_article

FIXTURES = Path(__file__).parent / "fixtures"
SHANGHAI_OFFSET = datetime.timedelta(hours=8)

ARTICLE = """---
title: 数据出境安全评估办法解读
url: https://example.cn/a/1.html
source: 示例观察
date: 2024-05-11
fetch_date: 2025-10-06T17:17:35.350304
---

# 数据出境安全评估办法解读

评估办法明确了数据处理者申报安全评估的情形和程序。
"""


def article_bytes(front_matter: str, body: str = "正文第一段，说明这篇文章讲了什么。\n") -> bytes:
    return f"---\n{front_matter.strip()}\n---\n\n{body}".encode()


def test_it_reads_a_well_formed_utf8_article():
    parsed = parse_article(data=ARTICLE.encode())
    assert parsed.title == "数据出境安全评估办法解读"
    assert parsed.url == "https://example.cn/a/1.html"
    assert parsed.source == "示例观察"
    assert parsed.published == datetime.date(2024, 5, 11)
    assert parsed.fetched_at == datetime.datetime(
        2025, 10, 6, 17, 17, 35, 350304, tzinfo=parsed.fetched_at.tzinfo
    )
    assert parsed.fetched_at.utcoffset() == SHANGHAI_OFFSET
    assert parsed.body.startswith("# 数据出境安全评估办法解读")
    assert parsed.text == ARTICLE
    assert parsed.encoding == "utf-8"
    assert parsed.warnings == ()


def test_it_accepts_a_utf8_byte_order_mark():
    parsed = parse_article(data=b"\xef\xbb\xbf" + ARTICLE.encode())
    assert parsed.title == "数据出境安全评估办法解读"
    assert parsed.encoding == "utf-8"


def test_it_decodes_gb18030_files():
    parsed = parse_article(data=ARTICLE.encode("gb18030"))
    assert parsed.encoding == "gb18030"
    assert parsed.title == "数据出境安全评估办法解读"
    assert "申报安全评估" in parsed.body


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_it_decodes_utf16_files_with_or_without_a_byte_order_mark(codec):
    parsed = parse_article(data=ARTICLE.encode(codec))
    assert parsed.encoding == "utf-16"
    assert parsed.source == "示例观察"


def test_it_keeps_crlf_files_verbatim_in_text_but_parses_them():
    data = ARTICLE.replace("\n", "\r\n").encode()
    parsed = parse_article(data=data)
    assert parsed.title == "数据出境安全评估办法解读"
    assert parsed.text == ARTICLE.replace("\n", "\r\n")


def test_it_reads_a_title_with_an_ascii_colon_through_the_line_fallback():
    parsed = parse_article(
        data=article_bytes("title: Tutorial: Part 2: Overlays\nurl: https://x.example/a\nsource: S")
    )
    assert parsed.title == "Tutorial: Part 2: Overlays"
    assert parsed.url == "https://x.example/a"
    assert any("逐行" in w for w in parsed.warnings)


def test_it_reads_titles_with_quotes_and_tabs():
    front = (
        'title: 关于"数据要素×"行动的\t解读\nsource: \'示例\'\nurl: "https://x.example/b"\ndate: "2024-05-11"'
    )
    parsed = parse_article(data=article_bytes(front))
    assert parsed.title == '关于"数据要素×"行动的 解读'
    assert parsed.source == "示例"
    assert parsed.url == "https://x.example/b"
    assert parsed.published == datetime.date(2024, 5, 11)


def test_it_keeps_a_hash_sign_in_a_title_that_yaml_would_read_as_a_comment():
    parsed = parse_article(
        data=article_bytes("title: Swift tips - #30Days\nurl: https://x.example/c\nsource: S")
    )
    assert parsed.title == "Swift tips - #30Days"


def test_it_keeps_a_numeric_looking_title_as_written():
    parsed = parse_article(data=article_bytes("title: 2024\nsource: S\nurl: https://x.example/c"))
    assert parsed.title == "2024"


@pytest.mark.parametrize(
    "value",
    ["2024-05-11", "2024/5/11", "2024年5月11日", "2024.05.11", "'2024-05-11 08:00:00'", "20240511"],
)
def test_it_understands_several_date_formats(value):
    parsed = parse_article(
        data=article_bytes(f"title: T\nurl: https://x.example/d\nsource: S\ndate: {value}")
    )
    assert parsed.published == datetime.date(2024, 5, 11)


def test_it_warns_about_a_date_it_cannot_read():
    parsed = parse_article(data=article_bytes("title: T\nurl: https://x.example/e\nsource: S\ndate: 上周三"))
    assert parsed.published is None
    assert any("上周三" in w for w in parsed.warnings)


def test_it_makes_fetch_time_timezone_aware_and_respects_an_explicit_offset():
    naive = parse_article(
        data=article_bytes("title: T\nurl: https://x.example/f\nsource: S\nfetch_date: 2025-01-02 03:04:05")
    )
    assert naive.fetched_at.utcoffset() == SHANGHAI_OFFSET
    utc = parse_article(
        data=article_bytes("title: T\nurl: https://x.example/f\nsource: S\nfetch_date: 2025-01-02T03:04:05Z")
    )
    assert utc.fetched_at == datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def test_it_warns_about_missing_url_source_and_date_but_still_parses():
    parsed = parse_article(data=article_bytes("title: 只有标题"))
    assert (parsed.url, parsed.source, parsed.published, parsed.fetched_at) == ("", "", None, None)
    assert "缺少 url 字段" in parsed.warnings
    assert "缺少 source 字段" in parsed.warnings
    assert "缺少 date 字段" in parsed.warnings


def test_it_takes_the_title_from_the_first_heading_when_the_field_is_missing():
    parsed = parse_article(data=(FIXTURES / "broken_missing_title.md").read_bytes())
    assert parsed.title == "标题只写在正文里"
    assert any("title" in w for w in parsed.warnings)


def test_it_rejects_an_article_without_any_title():
    with pytest.raises(ParseError, match="缺少标题"):
        parse_article(data=article_bytes("url: https://x.example/g\nsource: S", body="没有标题的正文。\n"))


def test_it_rejects_an_empty_body_even_when_the_title_is_repeated_as_a_heading():
    with pytest.raises(ParseError, match="正文为空"):
        parse_article(data=(FIXTURES / "broken_empty_body.md").read_bytes())


def test_it_rejects_a_file_without_front_matter_as_not_an_article():
    with pytest.raises(ParseError, match="不是文章文件"):
        parse_article(data=(FIXTURES / "broken_not_article.md").read_bytes())


def test_it_rejects_front_matter_that_never_ends():
    with pytest.raises(ParseError, match="结束"):
        parse_article(data=b"---\ntitle: T\nurl: https://x.example/h\n\nbody without closing fence\n")


def test_it_rejects_binary_data():
    with pytest.raises(ParseError, match="二进制"):
        parse_article(data=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))


def test_it_rejects_bytes_that_are_neither_utf8_nor_gb18030():
    with pytest.raises(ParseError, match="编码无法识别"):
        decode_bytes(b"---\ntitle: \x80\xff\x80\xff\n---\n")


def test_it_rejects_an_empty_file():
    with pytest.raises(ParseError, match="空"):
        parse_article(data=b"")


def test_it_rejects_a_file_over_the_size_limit_and_says_how_big_it_is():
    data = ARTICLE.encode() + b"x" * (3 * 1024 * 1024)
    with pytest.raises(ParseError) as excinfo:
        parse_article(data=data, max_bytes=2 * 1024 * 1024)
    assert "3.0 MB" in str(excinfo.value)
    assert "2.0 MB" in str(excinfo.value)


@pytest.mark.parametrize(
    "data",
    [
        b"---",
        b"---\n---\n",
        b"---\n: :\n---\nbody",
        b"---\n- a\n- b\n---\n# t\n\nbody",
        b"\xff\xfe\x00",
        b"\n\n\n",
    ],
)
def test_it_raises_only_parse_error_for_garbage(data):
    with pytest.raises(ParseError):
        parse_article(data=data)


# --- control characters --------------------------------------------------------------------------


def test_control_characters_are_removed_from_title_url_and_source_with_a_warning():
    text = (
        "---\ntitle: 数据\x01安全\x0c法\x1b解读\nurl: https://x.example/\x02a\nsource: 示例\x7f观察\n"
        "date: 2024-05-11\n---\n\n正文第一段。\n"
    )
    parsed = parse_article(data=text.encode())
    assert (parsed.title, parsed.url, parsed.source) == ("数据安全法解读", "https://x.example/a", "示例观察")
    assert "标题或元数据中的控制字符已删除" in parsed.warnings
    assert not any("逐行" in w for w in parsed.warnings), "the front matter is still read as YAML"
    assert parsed.text == text, "the decoded text is kept as it came"


def test_a_heading_used_as_title_loses_its_control_characters_too():
    front = "url: https://x.example/i\nsource: S"
    parsed = parse_article(data=article_bytes(front, body="# 只在\x01正文\n\n正文。\n"))
    assert parsed.title == "只在正文"
    assert "标题或元数据中的控制字符已删除" in parsed.warnings


def test_a_clean_file_gets_no_control_character_warning():
    assert not any("控制字符" in w for w in parse_article(data=ARTICLE.encode()).warnings)


@pytest.mark.parametrize("separator", ["\x0c", "\x0b", "\x1c", "\x1e", "\x85", "\u2028", "\u2029"])
def test_a_line_separator_other_than_newline_inside_a_title_does_not_cut_it_short(separator):
    # The ": " makes YAML fail, so the line-by-line reader must keep the title in one piece.
    parsed = parse_article(
        data=article_bytes(f"title: 第一部分: 数据{separator}安全\nurl: https://x.example/j\nsource: S")
    )
    assert parsed.title.startswith("第一部分: 数据")
    assert parsed.title.endswith("安全")
    assert parsed.source == "S"


def test_a_form_feed_before_a_fence_like_text_does_not_end_the_front_matter():
    parsed = parse_article(data=article_bytes("title: 甲\x0c---\nurl: https://x.example/k\nsource: 来源乙"))
    assert (parsed.title, parsed.url, parsed.source) == ("甲---", "https://x.example/k", "来源乙")


# --- dates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0000-00-00", "2024-05-01T25:61:61", "2024-02-30", "2024-13-45 10:00:00"])
def test_an_impossible_date_falls_back_to_the_fetch_date_in_shanghai_with_a_warning(value):
    parsed = parse_article(
        data=article_bytes(
            f"title: T\nurl: https://x.example/l\nsource: S\ndate: {value}\nfetch_date: 2025-01-01T20:00:00Z"
        )
    )
    assert parsed.published == datetime.date(2025, 1, 2)
    (warning,) = [w for w in parsed.warnings if "发布日期" in w]
    assert value in warning
    assert "抓取日期" in warning and "2025-01-02" in warning


def test_an_impossible_date_without_a_usable_fetch_date_leaves_the_date_empty_and_says_so():
    parsed = parse_article(
        data=article_bytes(
            "title: T\nurl: https://x.example/m\nsource: S\ndate: 0000-00-00\nfetch_date: 2024-13-45 10:00:00"
        )
    )
    assert (parsed.published, parsed.fetched_at) == (None, None)
    (date_warning,) = [w for w in parsed.warnings if "发布日期" in w]
    assert "0000-00-00" in date_warning and "留空" in date_warning
    assert any("2024-13-45 10:00:00" in w for w in parsed.warnings if "抓取时间" in w)


def test_an_impossible_fetch_date_is_a_warning_and_the_date_is_kept():
    parsed = parse_article(
        data=article_bytes(
            "title: T\nurl: https://x.example/n\nsource: S\ndate: 2024-05-01\nfetch_date: 2024-13-45 10:00:00"
        )
    )
    assert parsed.published == datetime.date(2024, 5, 1)
    assert parsed.fetched_at is None
    assert any("2024-13-45 10:00:00" in w for w in parsed.warnings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-02", "2025-01-02T00:00:00+08:00"),
        ("2025-01-02 03:04:05", "2025-01-02T03:04:05+08:00"),
        ("2025-01-02T03:04:05Z", "2025-01-02T03:04:05+00:00"),
        ("2025-01-02T03:04:05+08:00", "2025-01-02T03:04:05+08:00"),
        ("2025-01-02T03:04:05.5-05:00", "2025-01-02T03:04:05.500000-05:00"),
        ("2025-01-02 03:04:05 -5", "2025-01-02T03:04:05-05:00"),
        ("2025-01-02 03:04:05 +0800", "2025-01-02T03:04:05+08:00"),
        ("2025-01-02T03:04:05+8:30", "2025-01-02T03:04:05+08:30"),
        ("2025-01-02 03:04:05.1234567", "2025-01-02T03:04:05.123456+08:00"),
        ("2025-1-2 3:04:05", "2025-01-02T03:04:05+08:00"),
        ("'2025-01-02 03:04:05'", "2025-01-02T03:04:05+08:00"),
    ],
)
def test_fetch_dates_in_every_timestamp_form_yaml_knows_still_parse(value, expected):
    parsed = parse_article(
        data=article_bytes(
            f"title: T\nurl: https://x.example/o\nsource: S\ndate: 2025-01-02\nfetch_date: {value}"
        )
    )
    assert parsed.fetched_at.isoformat() == expected
    assert parsed.published == datetime.date(2025, 1, 2)
    assert parsed.warnings == ()


def test_an_explicitly_tagged_bad_timestamp_is_a_warning_not_a_failure():
    parsed = parse_article(
        data=article_bytes("title: T\nurl: https://x.example/p\nsource: S\ndate: !!timestamp 2024-99-99")
    )
    assert parsed.published is None
    assert any("2024-99-99" in w for w in parsed.warnings)


# --- links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "ftp://x.example/a", "//x.example/a"],
)
def test_a_url_that_is_not_http_is_dropped_with_a_warning(url):
    parsed = parse_article(data=article_bytes(f"title: T\nurl: '{url}'\nsource: S\ndate: 2024-05-01"))
    assert parsed.url == ""
    assert f"原文链接不是 http(s) 地址，已忽略：{url.strip()}" in parsed.warnings
    assert "缺少 url 字段" not in parsed.warnings
