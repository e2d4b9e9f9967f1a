"""Policy documents mentioned by articles: recorded at ingest, merged by editors, shown on pages."""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from articles.models import Article, PolicyDocument, PolicyMention
from articles.policy import (
    POLICY_ARTICLES_PER_PAGE,
    article_policy_mentions_sync,
    articles_by_month,
    policy_document_articles,
    policy_document_for_name,
    policy_documents_for_article,
    policy_documents_merge,
    policy_documents_popular,
    policy_names_sync,
)
from articles.services import article_reclean

from . import factories
from .helpers import wechat_url, write_article

pytestmark = pytest.mark.django_db

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo" / "corpus"
NUMBER = "国发〔2024〕1号"
LAW = "测试数据流通法"

# The same document number typed four ways, as different accounts write it.
BRACKET_BODIES = [
    "国务院近日印发通知（国发〔2024〕1号），部署数据要素市场建设。各地要抓好落实，并同步对照《测试数据流通法》梳理风险。",
    "根据国发[2024]1号文件精神，本市制定了配套措施，明确了三年目标和重点任务。",
    "文件编号为国发（2024）1号。解读指出，数据分类分级是基础，也是《测试数据流通法》的核心要求。",
    "落实国发 〔２０２４〕 第 1 号 文件的要求，省里召开专题会议，研究下一步工作安排。",
]


@pytest.fixture(autouse=True)
def empty_library() -> None:
    # These tests follow mentions from nothing: without the seeded records (test_policy_records).
    PolicyDocument.objects.all().delete()


def ingest(folder: Path) -> None:
    call_command("ingest", str(folder), "--sync", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())


def write_bracket_articles(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_article(
            folder,
            f"{2000 + i}.md",
            title=f"测试稿：数据要素新政第{i + 1}篇解读",
            url=wechat_url(200 + i),
            source="测试政策观察",
            date=f"2024-0{i + 2}-10",
            body=body,
        )
        for i, body in enumerate(BRACKET_BODIES)
    ]


def article_make(*, body: str, title: str = "", **fields) -> Article:
    """An article row written directly, with its mentions synced as ingest would."""
    article = factories.article_make(title=title or "测试文章", body=body, **fields)
    article_policy_mentions_sync(article=article)
    return article


def document(name: str) -> PolicyDocument:
    return PolicyDocument.objects.get(name=name)


# --- ingest ---------------------------------------------------------------------------------------


def test_ingest_records_one_document_for_a_number_written_with_any_brackets(tmp_path):
    write_bracket_articles(tmp_path)
    ingest(tmp_path)

    number = document(NUMBER)
    assert number.kind == PolicyDocument.Kind.NUMBER
    assert number.articles.count() == 4
    assert not PolicyDocument.objects.filter(name__contains="2024").exclude(pk=number.pk).exists()
    raws = set(number.mentions.values_list("raw", flat=True))
    assert "国发[2024]1号" in raws and "国发（2024）1号" in raws


def test_ingest_records_titles_in_book_quotes(tmp_path):
    write_bracket_articles(tmp_path)
    ingest(tmp_path)

    law = document(LAW)
    assert law.kind == PolicyDocument.Kind.TITLE
    assert law.articles.count() == 2
    first = Article.objects.get(title="测试稿：数据要素新政第1篇解读")
    assert [d.name for d in policy_documents_for_article(article=first)] == [NUMBER, LAW]


def test_re_ingesting_an_edited_file_replaces_its_mentions(tmp_path):
    paths = write_bracket_articles(tmp_path)
    ingest(tmp_path)
    write_article(
        tmp_path,
        paths[0].name,
        title="测试稿：数据要素新政第1篇解读",
        url=wechat_url(200),
        source="测试政策观察",
        date="2024-02-10",
        fetch_date="2025-11-01T10:00:00.000001",
        body="更正：本文所说的文件应为《公共数据资源登记管理暂行办法》，特此说明。",
    )
    ingest(paths[0])

    article = Article.objects.get(title="测试稿：数据要素新政第1篇解读")
    assert [d.name for d in policy_documents_for_article(article=article)] == ["公共数据资源登记管理暂行办法"]
    assert document(NUMBER).articles.count() == 3
    assert document(LAW).articles.count() == 1


def test_reclean_restores_mentions_from_the_stored_file(tmp_path):
    write_bracket_articles(tmp_path)
    ingest(tmp_path)
    article = Article.objects.get(title="测试稿：数据要素新政第1篇解读")
    PolicyMention.objects.filter(article=article).delete()

    article_reclean(article_id=article.pk)

    assert {d.name for d in policy_documents_for_article(article=article)} == {NUMBER, LAW}


def test_an_alias_sends_a_spelling_to_its_document_instead_of_creating_one():
    full = PolicyDocument.objects.create(
        name="中华人民共和国测试数据流通法", kind=PolicyDocument.Kind.TITLE, aliases=[LAW]
    )
    policy_names_sync(documents=[full])  # as the admin's save does
    article = article_make(body="企业应当按照《测试数据流通法》建立数据安全管理制度。")

    assert policy_documents_for_article(article=article) == [full]
    assert not PolicyDocument.objects.filter(name=LAW).exists()
    assert full.mentions.get().raw == LAW


# --- sync -----------------------------------------------------------------------------------------


def test_syncing_twice_changes_nothing():
    article = article_make(body="依据国发〔2024〕1号和《测试数据流通法》开展检查。")
    first = {(m.id, m.document_id, m.raw) for m in PolicyMention.objects.filter(article=article)}

    again = article_policy_mentions_sync(article=article)

    assert {(m.id, m.document_id, m.raw) for m in again} == first
    assert len(first) == 2
    assert PolicyDocument.objects.count() == 2


def test_a_sync_drops_mentions_the_article_no_longer_makes_but_keeps_the_document():
    article = article_make(body="依据国发〔2024〕1号和《测试数据流通法》开展检查。")
    article.body_text = "依据《测试数据流通法》开展检查。"

    mentions = article_policy_mentions_sync(article=article)

    assert [m.document.name for m in mentions] == [LAW]
    assert PolicyDocument.objects.filter(name=NUMBER).exists()
    assert not document(NUMBER).mentions.exists()


def test_an_article_without_references_has_no_mentions():
    article = article_make(body="今天天气晴朗，适合外出。书架上有一本《孙子兵法》。")
    assert article_policy_mentions_sync(article=article) == []
    assert not PolicyDocument.objects.exists()


# --- merge ----------------------------------------------------------------------------------------


def test_merging_moves_mentions_once_per_article_and_keeps_the_other_names_as_aliases():
    both = article_make(body="对照《测试数据流通法》和《中华人民共和国测试数据流通法》逐条检查。")
    article_make(body="《测试数据流通法》施行三周年。")
    only_full = article_make(body="《中华人民共和国测试数据流通法》第二十一条规定了分类分级。")
    short, full = document(LAW), document("中华人民共和国测试数据流通法")
    full.aliases = ["数安法"]
    full.save()

    merged = policy_documents_merge(target_id=short.pk, other_ids=[full.pk])

    assert merged.pk == short.pk
    assert merged.aliases == ["中华人民共和国测试数据流通法", "数安法"]
    assert not PolicyDocument.objects.filter(pk=full.pk).exists()
    assert merged.mentions.count() == 3
    assert set(merged.articles.all()) >= {both, only_full}
    # The merged name now maps to the target on the next sync.
    article_policy_mentions_sync(article=only_full)
    assert policy_documents_for_article(article=only_full) == [merged]


@pytest.fixture
def three_spellings():
    """One law under three names, mentioned 3, 1 and 1 times."""
    article_make(body="《测试数据流通法》第一次提及。")
    article_make(body="《测试数据流通法》第二次提及。")
    article_make(body="《测试数据流通法》和《中华人民共和国测试数据流通法》同时出现。")
    article_make(body="《测试数据流通法（草案）》公开征求意见。")
    return [document(LAW), document("中华人民共和国测试数据流通法"), document("测试数据流通法(草案)")]


def changelist_merge(client, documents: list[PolicyDocument]):
    return client.post(
        reverse("admin:articles_policydocument_changelist"),
        {"action": "merge", "_selected_action": [d.pk for d in documents]},
        follow=True,
    )


def test_the_admin_action_merges_into_the_most_mentioned_document(client, three_spellings):
    client.force_login(User.objects.create_superuser("chief", password="pw-chief-123"))
    short, full, draft = three_spellings

    response = changelist_merge(client, [full, draft, short])

    assert response.status_code == 200
    assert "已将 2 份文件合并到“测试数据流通法”" in response.content.decode()
    assert list(PolicyDocument.objects.values_list("name", flat=True)) == [LAW]
    short.refresh_from_db()
    assert set(short.aliases) == {"中华人民共和国测试数据流通法", "测试数据流通法(草案)"}
    assert short.mentions.count() == 4


def test_the_admin_action_needs_two_documents(client, three_spellings):
    client.force_login(User.objects.create_superuser("chief", password="pw-chief-123"))

    response = changelist_merge(client, three_spellings[:1])

    assert "请至少选择两份文件再合并" in response.content.decode()
    assert PolicyDocument.objects.count() == 3


def test_anonymous_visitors_cannot_merge(client, three_spellings):
    response = changelist_merge(client, three_spellings)

    assert reverse("admin:login") in response.redirect_chain[0][0]
    assert PolicyDocument.objects.count() == 3


def test_logged_in_non_staff_users_cannot_merge(client, three_spellings):
    client.force_login(User.objects.create_user("reader", password="pw-reader-123"))

    response = changelist_merge(client, three_spellings)

    assert reverse("admin:login") in response.redirect_chain[0][0]
    assert PolicyDocument.objects.count() == 3


def test_the_admin_list_shows_mention_counts(client, three_spellings):
    client.force_login(User.objects.create_superuser("chief", password="pw-chief-123"))

    response = client.get(reverse("admin:articles_policydocument_changelist"))

    assert response.status_code == 200
    assert response.context["cl"].result_list.get(name=LAW).mention_count == 3


def admin_change(client, doc: PolicyDocument, *, name: str, aliases: str):
    return client.post(
        reverse("admin:articles_policydocument_change", args=[doc.pk]),
        {
            "name": name,
            "kind": "title",
            "aliases": aliases,
            "mentions-TOTAL_FORMS": "0",
            "mentions-INITIAL_FORMS": "0",
            "mentions-MIN_NUM_FORMS": "0",
            "mentions-MAX_NUM_FORMS": "1000",
        },
    )


def test_editing_in_the_admin_normalises_aliases_keeps_the_old_name_and_absorbs_named_documents(
    client, three_spellings
):
    client.force_login(User.objects.create_superuser("chief", password="pw-chief-123"))
    short, _full, _draft = three_spellings

    response = admin_change(
        client, short, name=" 测试数据流通法（2021年） ", aliases="《数安法》\n测试数据流通法（草案）\n数安法"
    )

    assert response.status_code == 302
    short.refresh_from_db()
    assert short.name == "测试数据流通法(2021年)"
    assert short.aliases == ["数安法", "测试数据流通法(草案)", LAW]
    assert not PolicyDocument.objects.filter(name="测试数据流通法(草案)").exists()
    assert short.mentions.count() == 4
    # The old name still finds the document at the next ingest.
    article = article_make(body="再谈《测试数据流通法》。")
    assert policy_documents_for_article(article=article) == [short]


def test_renaming_to_the_name_of_another_document_is_refused_with_a_hint_to_merge(client, three_spellings):
    client.force_login(User.objects.create_superuser("chief", password="pw-chief-123"))
    short, _full, _draft = three_spellings

    response = admin_change(client, short, name="中华人民共和国 测试数据流通法", aliases="")

    assert response.status_code == 200
    assert "合并所选文件" in str(response.context["adminform"].form.errors["name"])
    assert PolicyDocument.objects.filter(name=LAW).exists()


# --- selectors ------------------------------------------------------------------------------------


def test_documents_for_an_article_come_in_reading_order():
    article = article_make(body="先说《测试数据流通法》，然后是国发〔2024〕1号，最后是《网络安全法》。")
    names = [d.name for d in policy_documents_for_article(article=article)]
    assert names == [LAW, NUMBER, "网络安全法"]


def test_popular_documents_count_only_published_articles():
    article_make(body="《网络安全法》一。")
    article_make(body="《网络安全法》二。")
    article_make(body="《测试数据流通法》一。")
    article_make(body="《测试数据流通法》隐藏一。", status=Article.Status.HIDDEN)
    article_make(body="《测试数据流通法》隐藏二。", status=Article.Status.HIDDEN)
    article_make(body="《个人信息保护法》只在隐藏文章里。", status=Article.Status.HIDDEN)

    popular = policy_documents_popular(limit=5)

    assert [(d.name, d.article_count) for d in popular] == [("网络安全法", 2), (LAW, 1)]
    assert len(policy_documents_popular(limit=1)) == 1


def test_articles_of_a_document_are_newest_first_and_grouped_by_month():
    dates = [datetime.date(2024, 3, 2), datetime.date(2024, 5, 20), datetime.date(2024, 5, 3), None]
    for day in dates:
        article_make(body="《测试数据流通法》解读。", published=day)

    page = policy_document_articles(document=document(LAW), page=1)
    months = articles_by_month(articles=page.object_list)

    assert [a.published_on for a in page.object_list] == [dates[1], dates[2], dates[0], None]
    assert [(m.label, len(m.articles)) for m in months] == [
        ("2024年5月", 2),
        ("2024年3月", 1),
        ("日期不详", 1),
    ]


# --- pages ----------------------------------------------------------------------------------------


def test_the_list_page_shows_documents_with_their_counts(client):
    article_make(body="《网络安全法》一。国发〔2024〕1号。")
    article_make(body="《网络安全法》二。")
    article_make(body="《个人信息保护法》只在隐藏文章里。", status=Article.Status.HIDDEN)

    response = client.get("/policy/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "网络安全法" in html and "2 篇文章提及" in html
    assert NUMBER in html and "1 篇文章提及" in html
    assert "个人信息保护法" not in html
    assert reverse("policy-detail", args=[document("网络安全法").pk]) in html


def test_the_document_page_shows_its_timeline_links_and_feed(client):
    shown = article_make(
        title="测试数据流通法实施情况调研",
        body="《测试数据流通法》实施以来成效明显。",
        published=datetime.date(2024, 6, 12),
        source="测试法治观察",
        authors=("测试记者甲",),
    )
    article_make(title="一篇被隐藏的稿件", body="《测试数据流通法》隐藏稿。", status=Article.Status.HIDDEN)
    doc = document(LAW)
    doc.aliases = ["数安法"]
    doc.save()

    response = client.get(f"/policy/{doc.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>测试数据流通法</h1>" in html and "数安法" in html
    assert "2024年6月" in html and "2024年6月12日" in html
    assert f'href="{shown.get_absolute_url()}"' in html
    assert "测试法治观察" in html and "测试记者甲" in html
    assert "一篇被隐藏的稿件" not in html
    assert "提及文章</dt><dd>1 篇" in html
    assert f'href="/search/?q={quote(chr(34) + LAW + chr(34), safe="")}"' in html
    feed = (
        '<link rel="alternate" type="application/rss+xml" title="提及“测试数据流通法”的文章" '
        f'href="/feeds/policy/{doc.pk}.rss">'
    )
    assert feed in html


def test_the_document_page_of_an_unknown_document_is_not_found(client):
    assert client.get("/policy/999999/").status_code == 404


def test_the_document_page_is_paginated(client):
    for i in range(POLICY_ARTICLES_PER_PAGE + 2):
        article_make(
            title=f"分页测试稿{i:02d}", body="《测试数据流通法》。", published=datetime.date(2024, 1, 1)
        )
    doc = document(LAW)

    first = client.get(f"/policy/{doc.pk}/").content.decode()
    second = client.get(f"/policy/{doc.pk}/?page=2").content.decode()

    assert "分页测试稿31" in first and "分页测试稿00" not in first and 'rel="next"' in first
    assert "分页测试稿00" in second and "分页测试稿01" in second and "分页测试稿31" not in second
    assert client.get(f"/policy/{doc.pk}/?page=abc").status_code == 200


# --- query counts ---------------------------------------------------------------------------------


def test_the_list_page_costs_two_queries_however_many_documents(client, django_assert_num_queries):
    article_make(body="《网络安全法》。")
    with django_assert_num_queries(2):
        client.get("/policy/")
    for i in range(40):
        article_make(body=f"《测试管理办法第{i}号》。国发〔2023〕{i + 1}号。")
    with django_assert_num_queries(2):
        client.get("/policy/")


def test_the_document_page_costs_seven_queries_however_many_articles(client, django_assert_num_queries):
    # the record with its official text, the count, the rows, their authors, which of them are
    # official texts, cites, cited by
    article_make(body="《测试数据流通法》。", authors=("测试记者甲",))
    doc = document(LAW)
    with django_assert_num_queries(7):
        client.get(f"/policy/{doc.pk}/")
    for i in range(25):
        article_make(
            body="《测试数据流通法》。",
            source=f"测试来源{i % 5}",
            authors=(f"测试记者{i}", "测试编辑"),
            published=datetime.date(2023, 1 + i % 12, 1),
        )
    with django_assert_num_queries(7):
        client.get(f"/policy/{doc.pk}/")


# --- rebuild command ------------------------------------------------------------------------------


def test_the_rebuild_command_recomputes_every_articles_mentions_and_can_prune():
    article_make(body="国发〔2024〕1号和《测试数据流通法》。")
    article_make(body="《测试数据流通法》。")
    PolicyMention.objects.all().delete()
    PolicyDocument.objects.create(name="无人提及的测试办法", kind=PolicyDocument.Kind.TITLE)
    out, err = io.StringIO(), io.StringIO()

    call_command("policy_rebuild", "--prune", stdout=out, stderr=err)

    assert document(LAW).mentions.count() == 2
    assert document(NUMBER).mentions.count() == 1
    assert not PolicyDocument.objects.filter(name="无人提及的测试办法").exists()
    assert "已处理 2 篇文章：提及 0 → 3 条" in out.getvalue()
    assert "重算政策文件" in err.getvalue()


# --- demo corpus ----------------------------------------------------------------------------------


def test_the_demo_corpus_links_the_public_data_opinion_to_its_articles():
    # Some demo files are broken on purpose; the command reports them and fails at the end.
    with pytest.raises(CommandError):
        ingest(DEMO_DIR)

    doc = policy_document_for_name(value="国办发〔2024〕12号")
    # 9 files mention it (the demo's official notice cites it), two of them are one article
    # crawled twice (same canonical URL).
    assert doc.articles.count() == 8
    # the demo's articles write the title with its number in brackets: one record for both
    assert policy_document_for_name(value="关于加快公共数据资源开发利用的意见") == doc
