from __future__ import annotations

import pytest

from articles.canonical import canonical_url

WECHAT_LONG = (
    "http://mp.weixin.qq.com/s?__biz=MzA5MzE5MDAzOA==&mid=2664212856&idx=2&sn=9f00abcd"
    "&chksm=8b59ab81&scene=58&subscene=0#rd"
)


def test_it_keeps_only_the_four_identifying_wechat_parameters_in_order():
    assert canonical_url(WECHAT_LONG) == (
        "https://mp.weixin.qq.com/s?__biz=MzA5MzE5MDAzOA==&mid=2664212856&idx=2&sn=9f00abcd"
    )


def test_it_gives_the_same_wechat_url_whatever_the_parameter_order():
    shuffled = (
        "https://mp.weixin.qq.com/s?sn=9f00abcd&idx=2&scene=1&mid=2664212856&__biz=MzA5MzE5MDAzOA%3D%3D"
    )
    assert canonical_url(shuffled) == canonical_url(WECHAT_LONG)


def test_it_decodes_html_escaped_ampersands_in_wechat_links():
    escaped = WECHAT_LONG.replace("&", "&amp;")
    assert canonical_url(escaped) == canonical_url(WECHAT_LONG)


def test_it_keeps_wechat_short_links_as_they_are_without_share_noise():
    assert (
        canonical_url("https://mp.weixin.qq.com/s/AbC-dEf_123?scene=1#x")
        == "https://mp.weixin.qq.com/s/AbC-dEf_123"
    )


def test_it_lowercases_scheme_and_host_and_drops_default_port_and_fragment():
    assert (
        canonical_url("HTTPS://WWW.FreeBuf.COM:443/news/1.html#top") == "https://www.freebuf.com/news/1.html"
    )
    assert canonical_url("http://Example.com:80/a") == "http://example.com/a"
    assert canonical_url("http://example.com:8080/a") == "http://example.com:8080/a"


@pytest.mark.parametrize(
    "query",
    [
        "utm_source=rss&utm_medium=x",
        "spm=1.2.3",
        "from=timeline",
        "scene=1",
        "share_token=a",
        "fbclid=z",
        "gclid=q",
        "src=app",
        "ref=home",
    ],
)
def test_it_drops_tracking_parameters(query):
    assert canonical_url(f"https://example.com/post?id=7&{query}") == "https://example.com/post?id=7"


def test_it_sorts_the_remaining_parameters_and_strips_a_trailing_question_mark():
    assert canonical_url("https://example.com/list?b=2&a=1") == "https://example.com/list?a=1&b=2"
    assert canonical_url("https://example.com/list?") == "https://example.com/list"
    assert canonical_url("https://example.com") == "https://example.com/"


@pytest.mark.parametrize(
    "value", ["", "   ", "not a url", "ftp://example.com/file", "javascript:alert(1)", "http://"]
)
def test_it_returns_an_empty_string_for_empty_or_unusable_input(value):
    assert canonical_url(value) == ""


def test_it_accepts_a_bare_host_without_scheme():
    assert canonical_url("www.freebuf.com/news/1.html") == "https://www.freebuf.com/news/1.html"
