"""Keyword extraction (jieba TF-IDF) at ingest, the rebuild command and trending keywords."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import transaction

from articles.models import Article
from articles.parsing import parse_article
from articles.selectors import keywords_trending
from articles.services import article_reclean, article_upsert
from articles.tests.factories import article_make
from zhtext.analysis import dictionary_refresh
from zhtext.keywords import keywords_extract, keywords_trending_score, stopwords_load
from zhtext.models import DictionaryTerm

BODY_DATA = (
    "记者从有关部门获悉，数据要素市场化配置改革持续推进。会议表示，要进行数据要素流通交易规则建设，"
    "推动公共数据授权运营，完善数据要素收益分配机制。数据要素市场建设工作取得积极进展，"
    "多地数据交易所挂牌的数据产品数量明显增长。本文来源：某某公众号，转载请注明来源。"
)
BODY_RANSOM = (
    "安全厂商披露，一个新的勒索软件团伙近期攻击了多家制造企业，加密生产系统的文件并索要赎金。"
    "研究人员建议企业及时备份数据、修补VPN设备漏洞，防范勒索软件通过远程桌面入侵。"
    "该团伙使用的勒索软件变种与LockBit存在代码相似之处。"
)


def words(keywords) -> list[str]:
    return [word for word, _ in keywords]


def test_it_finds_the_policy_terms_an_article_is_about_as_whole_words() -> None:
    found = words(keywords_extract(title="数据要素市场化改革取得新进展", text=BODY_DATA))
    assert "数据要素" in found[:3]
    # the user dictionary keeps the term whole: never its halves
    assert "要素" not in found


def test_boilerplate_and_generic_words_are_never_keywords() -> None:
    found = set(words(keywords_extract(title="数据要素市场化改革取得新进展", text=BODY_DATA, top_k=30)))
    assert found.isdisjoint({"记者", "表示", "进行", "工作", "公众号", "来源", "本文", "转载"})
    assert {"记者", "公众号", "来源"} <= stopwords_load()


def test_weights_are_positive_best_first_and_limited_to_top_k() -> None:
    keywords = keywords_extract(title="勒索软件团伙攻击制造企业", text=BODY_RANSOM, top_k=5)
    assert len(keywords) == 5
    weights = [weight for _, weight in keywords]
    assert weights == sorted(weights, reverse=True)
    assert all(weight > 0 for weight in weights)
    assert keywords[0][0] == "勒索软件"


def test_latin_keywords_keep_the_articles_spelling_and_links_are_ignored() -> None:
    text = (
        "LockBit 团伙再度活跃。详情见 https://example.com/qpic/mmbiz?fmt=jpeg 以及 ![](https://img.example.cn/abc.png)。"
        * 3
    )
    found = words(keywords_extract(title="LockBit 勒索软件再度活跃", text=text, top_k=10))
    assert "LockBit" in found
    assert not {"https", "example", "qpic", "mmbiz", "fmt", "jpeg", "png", "com"} & {w.lower() for w in found}


def test_words_in_the_title_count_for_more_than_the_same_words_in_the_body() -> None:
    body = "会议讨论了算力网络的建设，也讨论了低空经济的发展。"
    first = words(keywords_extract(title="算力网络建设提速", text=body))
    second = words(keywords_extract(title="低空经济发展提速", text=body))
    assert first.index("算力网络") < first.index("低空经济")
    assert second.index("低空经济") < second.index("算力网络")


def test_traditional_characters_give_the_simplified_keyword() -> None:
    found = words(keywords_extract(title="數據要素市場化", text="數據要素的流通與交易。數據要素收益分配。"))
    assert "数据要素" in found


@pytest.mark.django_db
def test_an_editors_new_word_is_a_keyword_at_once_and_stops_being_one_when_removed() -> None:
    # the same words, extracted again after each change: what the process remembers of a
    # word's fitness must follow the dictionary
    title = "澜沧算力枢纽建设推进会召开"
    body = "澜沧算力枢纽一期工程投产。澜沧算力枢纽服务周边数据中心，澜沧算力枢纽二期启动。"
    dictionary_refresh(force=True)
    assert "澜沧算力枢纽" not in words(keywords_extract(title=title, text=body, top_k=20))
    DictionaryTerm.objects.create(word="澜沧算力枢纽")
    dictionary_refresh(check_now=True)
    try:
        found = words(keywords_extract(title=title, text=body, top_k=20))
        assert found[0] == "澜沧算力枢纽"
    finally:
        DictionaryTerm.objects.filter(word="澜沧算力枢纽").delete()
        dictionary_refresh(check_now=True)
    assert "澜沧算力枢纽" not in words(keywords_extract(title=title, text=body, top_k=20))


def test_an_empty_article_has_no_keywords() -> None:
    assert keywords_extract(title="", text="") == []
    assert keywords_extract(title="  ", text="。，！") == []


# --- ingest hook and rebuild command ------------------------------------------------------

RAW = """---
title: 数据要素市场化改革取得新进展
url: https://news.example.cn/keywords/1
source: 测试新闻
date: 2024-05-10
fetch_date: 2024-05-11
---

{body}
"""


@pytest.mark.django_db
def test_ingest_stores_the_keywords_on_the_article_and_reclean_refreshes_them() -> None:
    parsed = parse_article(data=RAW.format(body=BODY_DATA).encode("utf-8"))
    with transaction.atomic():
        article, outcome, _ = article_upsert(parsed=parsed)
    assert outcome == "created"
    article.refresh_from_db()
    assert "数据要素" in words(article.keywords)[:3]
    assert all(isinstance(item, list) and isinstance(item[1], float) for item in article.keywords)

    Article.objects.filter(pk=article.pk).update(keywords=[])
    assert article_reclean(article_id=article.pk) is True
    article.refresh_from_db()
    assert "数据要素" in words(article.keywords)[:3]
    # nothing changed since: a second reclean leaves the article alone
    assert article_reclean(article_id=article.pk) is False


@pytest.mark.django_db
def test_keywords_rebuild_fills_articles_that_have_none() -> None:
    done = article_make(title="勒索软件团伙攻击制造企业", body=BODY_RANSOM)
    Article.objects.filter(pk=done.pk).update(keywords=[["保留", 1.0]])
    empty = article_make(title="数据要素市场化改革取得新进展", body=BODY_DATA)
    out = io.StringIO()
    call_command("keywords_rebuild", "--missing", "--no-progress", stdout=out, stderr=io.StringIO())
    done.refresh_from_db()
    empty.refresh_from_db()
    assert done.keywords == [["保留", 1.0]]
    assert "数据要素" in words(empty.keywords)[:3]
    assert "处理 1 篇文章，更新 1 篇" in out.getvalue()

    call_command("keywords_rebuild", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    done.refresh_from_db()
    assert words(done.keywords)[0] == "勒索软件"


# --- trending ----------------------------------------------------------------------------


def test_a_word_in_every_article_ranks_below_a_word_that_fills_only_the_recent_ones() -> None:
    background = {"网络安全": 100, "勒索软件": 6}
    window = [[["网络安全", 0.5], ["勒索软件", 0.4]]] * 5 + [[["网络安全", 0.5]]] * 5
    ranked = keywords_trending_score(window=window, background=background, background_total=100)
    assert [word for word, _ in ranked] == ["勒索软件", "网络安全"]
    assert ranked[0][1] == 1.0


def test_each_article_counts_once_per_word() -> None:
    window = [[["数据", 0.5], ["数据", 0.5]], [["算力", 0.5]]]
    ranked = dict(keywords_trending_score(window=window, background={}, background_total=2))
    assert ranked["数据"] == ranked["算力"]


@pytest.mark.django_db
def test_trending_keywords_come_from_the_last_days_and_are_weighed_against_all_articles() -> None:
    today = datetime.date(2024, 6, 30)
    # A word every article has, all year round.
    for month in range(1, 7):
        for _ in range(3):
            old = article_make(title="网络安全月报", published=datetime.date(2024, month, 5))
            Article.objects.filter(pk=old.pk).update(keywords=[["网络安全", 0.6], ["月报", 0.2]])
    for day in (26, 27, 28, 29):
        recent = article_make(title="新的攻击", published=datetime.date(2024, 6, day))
        Article.objects.filter(pk=recent.pk).update(keywords=[["网络安全", 0.6], ["勒索软件", 0.3]])
    hidden = article_make(title="隐藏", published=datetime.date(2024, 6, 29), status=Article.Status.HIDDEN)
    Article.objects.filter(pk=hidden.pk).update(keywords=[["隐藏词", 9.0]])

    week = keywords_trending(days=7, today=today)
    assert [word for word, _ in week][:2] == ["勒索软件", "网络安全"]
    assert "隐藏词" not in dict(week)
    assert "月报" not in dict(week)  # only in articles older than a week
    assert "月报" in dict(keywords_trending(days=30, today=today))


@pytest.mark.django_db
def test_when_the_newest_article_is_old_the_last_days_end_on_its_date() -> None:
    for day in (1, 3):
        article = article_make(title="旧文章", published=datetime.date(2023, 3, day))
        Article.objects.filter(pk=article.pk).update(keywords=[["数据出境", 0.5]])
    assert [w for w, _ in keywords_trending(days=7, today=datetime.date(2025, 1, 1))] == ["数据出境"]
    # measured from today, the same articles are out of the window
    article = article_make(title="新文章", published=datetime.date(2025, 1, 1))
    Article.objects.filter(pk=article.pk).update(keywords=[["算力", 0.5]])
    assert [w for w, _ in keywords_trending(days=7, today=datetime.date(2025, 1, 1))] == ["算力"]
