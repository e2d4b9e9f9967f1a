"""The rules for untrusted strings: control characters out, http(s) links only."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from articles.untrusted import (
    text_controls_strip,
    text_xml_safe,
    url_http_only,
    url_http_validate,
    url_shown,
)


def test_control_stripping_keeps_tabs_newlines_and_every_printable_character():
    value = "政策\x00解读\x01\x08\x0b\x0c\x0e\x1b\x1f\x7f\t第二行\n全角　空格\u2028"
    assert text_controls_strip(value=value) == "政策解读\t第二行\n全角　空格\u2028"


def test_control_stripping_also_removes_carriage_returns():
    assert text_controls_strip(value="标题\r") == "标题"


def test_xml_safe_text_keeps_what_xml_can_carry_and_drops_the_rest():
    value = "甲\x00乙\x01丙\x0c丁\x1f戊\x7f己\ud800庚\ufffe辛\uffff\t\n\r😀"
    assert text_xml_safe(value=value) == "甲乙丙丁戊己庚辛\t\n\r😀"


@pytest.mark.parametrize(
    "value",
    [
        "https://example.cn/a/1.html",
        "http://example.cn",
        "HTTPS://Example.CN/a?b=1#c",
        "https://mp.weixin.qq.com/s?__biz=MzA==&mid=1&idx=1&sn=abc",
    ],
)
def test_http_and_https_links_pass(value):
    assert url_http_only(value=value) == value


def test_a_link_is_trimmed_of_surrounding_spaces():
    assert url_http_only(value="  https://example.cn/a  ") == "https://example.cn/a"


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "\x01javascript:alert(1)",
        "java\tscript:alert(1)",
        "jav&#x09;ascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "ftp://example.cn/file",
        "mailto:editor@example.cn",
        "//evil.example/a",
        "/articles/1/",
        "example.cn/a/1.html",
        "http://",
        "https://exa\x00mple.cn/",
        "https:\\\\evil.example\\",
        "http://[::1",
    ],
)
def test_everything_else_is_refused(value):
    assert url_http_only(value=value) == ""


def test_a_path_on_this_site_passes_only_when_asked_for():
    assert url_http_only(value="/articles/1/", site_path=True) == "/articles/1/"
    assert url_http_only(value="https://example.cn/a", site_path=True) == "https://example.cn/a"
    for value in ("//evil.example/a", "/\\evil.example/a", "javascript:alert(1)", "articles/1/"):
        assert url_http_only(value=value, site_path=True) == ""


def test_the_validator_accepts_http_links_and_blank_values_and_explains_the_rest_in_chinese():
    url_http_validate("https://example.cn/a")
    url_http_validate("")
    with pytest.raises(ValidationError) as excinfo:
        url_http_validate("javascript:alert(1)")
    assert "http://" in excinfo.value.messages[0]
    assert "网址" in excinfo.value.messages[0]


def test_a_long_url_is_shortened_for_messages():
    assert url_shown(value="javascript:alert(1)") == "javascript:alert(1)"
    shown = url_shown(value="javascript:" + "x" * 200)
    assert len(shown) == 60 and shown.endswith("…")
