"""The policy-term dictionary and the synonym list."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from zhtext.analysis import dictionary_file_terms, dictionary_refresh, synonyms_for, text_words
from zhtext.models import DictionaryState, DictionaryTerm, Synonym


def test_the_shipped_dictionary_has_at_least_80_policy_terms():
    words = [w for w, _ in dictionary_file_terms(path=Path(settings.JIEBA_USER_DICT))]
    assert len(words) >= 80
    for word in ("数据要素", "新质生产力", "国家数据局", "关键信息基础设施", "数据出境", "生成式人工智能"):
        assert word in words
        assert text_words(word) == [word]


def test_synonyms_are_seeded_by_the_migration(db):
    dictionary_refresh(force=True)
    assert "工业和信息化部" in synonyms_for(term="工信部")
    assert "个人信息保护法" in synonyms_for(term="个保法")
    assert "0day" in synonyms_for(term="零日")
    assert Synonym.objects.count() >= 7


def test_saving_a_term_bumps_the_version_and_changes_segmentation(db):
    dictionary_refresh(force=True)
    before = DictionaryState.current_version()
    assert text_words("澜沧算力枢纽") != ["澜沧算力枢纽"]
    DictionaryTerm.objects.create(word="澜沧算力枢纽")
    assert DictionaryState.current_version() == before + 1
    dictionary_refresh(check_now=True)
    assert text_words("澜沧算力枢纽") == ["澜沧算力枢纽"]
    DictionaryTerm.objects.filter(word="澜沧算力枢纽").delete()
    dictionary_refresh(check_now=True)
    assert text_words("澜沧算力枢纽") != ["澜沧算力枢纽"]


@pytest.mark.parametrize("word", ["工信部", "工业和信息化部"])
def test_an_admin_synonym_group_works_both_ways(db, word):
    Synonym.objects.create(terms="甲乙测试词、丙丁测试词")
    dictionary_refresh(check_now=True)
    assert set(synonyms_for(term="甲乙测试词")) == {"甲乙测试词", "丙丁测试词"}
    assert len(synonyms_for(term=word)) >= 2


def test_the_later_migration_adds_vendor_and_security_synonyms(db):
    dictionary_refresh(force=True)
    assert "android" in synonyms_for(term="安卓")
    assert "谷歌浏览器" in synonyms_for(term="Chrome")
    assert "poc" in synonyms_for(term="概念验证")
    # the group added for 零日 joins the first one instead of replacing it
    assert {"0day", "零日漏洞", "zero-day"} <= set(synonyms_for(term="零日"))
    assert (
        Synonym.objects.filter(note="补充词表").count()
        + Synonym.objects.filter(terms="安卓, Android").count()
        >= 1
    )
