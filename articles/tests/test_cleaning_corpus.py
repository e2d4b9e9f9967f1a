"""Runs the whole pipeline front (parse + clean) over the real crawled corpus."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from articles.cleaning import CleanResult, clean_article
from articles.parsing import ParsedFile, ParseError, date_parse, parse_article

pytestmark = pytest.mark.corpus

WECHAT_MARKERS = ("微信扫一扫", "预览时标签不可点", "扫码订阅", "继续滑动看下一个", "轻触阅读原文")
LONE_WIDGET_LINE = re.compile(r"^(赞|在看|分享)$")


@pytest.fixture(scope="module")
def corpus_results(corpus_dir: Path) -> dict[str, tuple[ParsedFile, CleanResult] | ParseError]:
    results: dict[str, tuple[ParsedFile, CleanResult] | ParseError] = {}
    for path in sorted(corpus_dir.glob("*.md")):
        try:
            parsed = parse_article(data=path.read_bytes())
        except ParseError as exc:
            results[path.name] = exc
            continue
        cleaned = clean_article(
            markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source
        )
        results[path.name] = (parsed, cleaned)
    return results


def parsed_only(results) -> dict[str, tuple[ParsedFile, CleanResult]]:
    return {name: value for name, value in results.items() if not isinstance(value, ParseError)}


def test_every_corpus_file_either_parses_or_raises_parse_error(corpus_dir, corpus_results):
    assert len(corpus_results) == len(list(corpus_dir.glob("*.md")))
    assert parsed_only(corpus_results), "no corpus file parsed at all"


def test_no_wechat_widget_text_survives_cleaning(corpus_results):
    leftovers = []
    for name, (parsed, cleaned) in parsed_only(corpus_results).items():
        if "mp.weixin.qq.com" not in parsed.url:
            continue
        leftovers += [(name, m) for m in WECHAT_MARKERS if m in cleaned.body_markdown]
        lines = [line.strip() for line in cleaned.body_markdown.splitlines() if line.strip()]
        if lines and LONE_WIDGET_LINE.match(lines[-1]):
            leftovers.append((name, lines[-1]))
    assert leftovers == []


def test_cleaning_keeps_real_text_in_every_article(corpus_results):
    empty = [
        name for name, (_, cleaned) in parsed_only(corpus_results).items() if len(cleaned.body_text) < 30
    ]
    assert empty == []


def test_the_reference_wechat_article_has_its_author_and_attribution(corpus_results):
    _, cleaned = corpus_results["000_1238d72e15d35a9d.md"]
    assert cleaned.authors == ("苏德悦",)
    assert cleaned.attribution == "人民邮电报"
    assert cleaned.cover_image.startswith("https://mmbiz.qpic.cn/")
    assert "中国信息安全" not in cleaned.authors
    assert not cleaned.body_markdown.startswith("#")


def test_authors_are_never_the_source_name(corpus_results):
    clashes = [
        (name, parsed.source)
        for name, (parsed, cleaned) in parsed_only(corpus_results).items()
        if parsed.source and parsed.source in cleaned.authors
    ]
    assert clashes == []


def test_titles_sources_and_dates_match_the_front_matter(corpus_dir, corpus_results):
    for name, (parsed, _) in parsed_only(corpus_results).items():
        raw = (corpus_dir / name).read_text(encoding="utf-8").split("\n---\n", 1)[0]
        fields = dict(line.split(": ", 1) for line in raw.splitlines()[1:] if re.match(r"^\w+: ", line))
        assert parsed.title == re.sub(r"\s+", " ", fields["title"]).strip()
        assert parsed.source == fields["source"].strip()
        assert parsed.published == date_parse(value=fields["date"])
        assert parsed.url == fields["url"].strip()
        try:
            strict = yaml.safe_load(raw.removeprefix("---\n"))
        except yaml.YAMLError:
            continue
        assert parsed.published == strict["date"]


def test_the_corpus_cleans_quickly(corpus_results):
    inputs = [parsed for parsed, _ in parsed_only(corpus_results).values()]
    started = time.perf_counter()
    for parsed in inputs:
        clean_article(markdown=parsed.body, url=parsed.url, title=parsed.title, source=parsed.source)
    assert time.perf_counter() - started < 3.0
