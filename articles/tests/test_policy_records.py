"""Policy documents as records: one per document whatever it is called by, with what its
official text says, kept in step by ingest and ``policy_rebuild`` without undoing editors."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from articles.models import Article, PolicyDocument, PolicyMention
from articles.policy import (
    PolicyLibraryParams,
    articles_policy_sync,
    policy_document_for_name,
    policy_document_split,
    policy_documents_merge,
    policy_library_search,
)

from .factories import article_make
from .helpers import article_text, wechat_url

pytestmark = pytest.mark.django_db

NOTICE_NUMBER = "工信部联数〔2023〕941号"
PLAN = "测试数据资源开发利用三年行动计划(2023-2025年)"


def official_file(
    *,
    title: str,
    number: str,
    issuers: str,
    date: str,
    body: str,
) -> str:
    """A notice as the ministries' sites give it: no URL, the number in the front matter."""
    number_line = f'doc_number: "{number}"\n' if number else ""
    return (
        f'---\ntitle: "{title}"\nurl: ""\nsource: "{issuers}"\ndate: "{date}"\nfetch_date: ""\n'
        f"{number_line}---\n{body.strip()}\n"
    )


NOTICE_BODY = f"""
工业和信息化部财政部关于印发测试数据资源开发利用三年行动计划（2023-2025年）的通知

{NOTICE_NUMBER}

各省、自治区、直辖市工业和信息化、财政主管部门：

现将《测试数据资源开发利用三年行动计划（2023-2025年）》印发给你们，请结合实际认真贯彻落实。本计划依据《中华人民共和国数据安全法》制定，自2023年7月1日起施行。《测试数据资源管理暂行办法》（测信部数〔2019〕7号）同时废止。

工业和信息化部财政部
2023年6月12日

测试数据资源开发利用三年行动计划（2023-2025年）

一、总体要求

坚持统筹发展和安全，推动测试数据资源有序开发。
"""


def ingest(folder: Path) -> str:
    out = io.StringIO()
    call_command("ingest", str(folder), "--sync", "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def news(folder: Path, n: int, *, title: str, body: str, date: str = "2023-07-02") -> Path:
    return write(
        folder,
        f"news-{n}.md",
        article_text(title=title, url=wechat_url(500 + n), source="测试政策观察", date=date, body=body),
    )


def notice(folder: Path) -> Path:
    return write(
        folder,
        "notice.md",
        official_file(
            title="工业和信息化部等两部门印发测试数据资源开发利用三年行动计划",
            number=NOTICE_NUMBER,
            issuers="工业和信息化部 财政部",
            date="2023-06-15",
            body=NOTICE_BODY,
        ),
    )


def record(name: str) -> PolicyDocument:
    document = policy_document_for_name(value=name)
    assert document is not None, f"no record answers to {name}"
    return document


def test_an_official_text_without_a_url_ingests_once_and_fills_its_record(tmp_path):
    folder = tmp_path / "in"
    notice(folder)
    assert "新建 1" in ingest(folder)
    assert "未变化 1" in ingest(folder)  # the same file again: one article, not two
    assert Article.objects.count() == 1
    article = Article.objects.get()
    document = record(NOTICE_NUMBER)
    assert document.official_article == article
    assert document.doc_number == NOTICE_NUMBER
    assert document.signed_on == datetime.date(2023, 6, 12)
    assert document.published_on == datetime.date(2023, 6, 15)
    assert document.effective_on == datetime.date(2023, 7, 1)
    assert document.issuers == ["工业和信息化部", "财政部"]
    assert "关于印发" in document.title
    # the plan it issues is the same record, whichever name is used
    assert record(PLAN) == document
    assert record("《测试数据资源开发利用三年行动计划（2023-2025年）》") == document


def test_what_the_text_does_not_say_stays_empty(tmp_path):
    folder = tmp_path / "in"
    write(
        folder,
        "bare.md",
        official_file(
            title="工业和信息化部办公厅关于开展测试工作的通知",
            number="工信厅测函〔2022〕903号",
            issuers="工业和信息化部办公厅",
            date="2022-03-01",
            body="工业和信息化部办公厅关于开展测试工作的通知\n\n工信厅测函〔2022〕903号\n\n各有关单位：\n\n请做好测试工作。\n",
        ),
    )
    ingest(folder)
    document = record("工信厅测函〔2022〕903号")
    assert document.effective_on is None
    assert document.status_shown() == ""
    assert document.signed_on is None


def test_a_title_and_its_number_written_together_are_one_record_for_every_later_mention(tmp_path):
    folder = tmp_path / "in"
    news(
        folder,
        1,
        title="测试稿：新意见发布",
        body="国务院办公厅印发《关于测试公共数据开发的意见》（国办发〔2031〕12号）。",
    )
    news(folder, 2, title="测试稿：各地落实", body="各地按照国办发[2031]12号文件要求推进。")
    news(folder, 3, title="测试稿：专家解读", body="专家认为，《关于测试公共数据开发的意见》意义重大。")
    ingest(folder)
    document = record("国办发（2031）12号")
    assert record("关于测试公共数据开发的意见") == document
    assert document.mentions.count() == 3
    assert PolicyDocument.objects.filter(name__contains="2031").count() <= 1


def test_news_about_an_issued_plan_lands_on_the_notice_record_with_its_official_text(tmp_path):
    folder = tmp_path / "in"
    news(folder, 1, title="测试稿：三年行动计划解读", body=f"《{PLAN}》提出了三年目标。")
    ingest(folder)
    notice(folder)
    ingest(folder)
    document = record(PLAN)
    assert document.official_article is not None
    assert document.official_article.title.startswith("工业和信息化部等两部门")
    assert set(document.mentions.values_list("article__title", flat=True)) == {
        "测试稿：三年行动计划解读",
        document.official_article.title,
    }


def test_seeded_records_answer_to_the_names_people_type():
    law = record("中华人民共和国个人信息保护法")
    for alias in ("个保法", "PIPL", "pipl", "个人信息保护法", "《个人信息保护法》"):
        assert record(alias) == law
    assert record("关保条例").title == "关键信息基础设施安全保护条例"
    assert record("网数条例").title == "网络数据安全管理条例"
    assert record("生成式AI管理办法").title == "生成式人工智能服务管理暂行办法"
    # the rule's short form: 暂行 dropped
    assert record("生成式人工智能服务管理办法").title == "生成式人工智能服务管理暂行办法"
    assert record("数据二十条") == record("数据20条")
    assert record("等保2.0").category == "标准"


def test_an_article_naming_a_law_by_its_short_title_mentions_the_seeded_record(tmp_path):
    folder = tmp_path / "in"
    news(folder, 1, title="测试稿：合规要点", body="企业应当对照《个人信息保护法》和《数据安全法》开展自查。")
    ingest(folder)
    article = Article.objects.get()
    titles = set(PolicyMention.objects.filter(article=article).values_list("document__title", flat=True))
    assert titles == {"中华人民共和国个人信息保护法", "中华人民共和国数据安全法"}


def test_a_repeal_stated_in_a_text_marks_the_other_record_and_citations_are_kept(tmp_path):
    folder = tmp_path / "in"
    notice(folder)
    ingest(folder)
    old = record("测试数据资源管理暂行办法")
    assert old.status == PolicyDocument.Status.REPEALED
    assert old.status_shown() == "已废止"
    document = record(NOTICE_NUMBER)
    assert record("测信部数〔2019〕7号") == old  # linked by 《…》（…） in the text
    cited = set(document.cites.values_list("title", flat=True))
    assert "中华人民共和国数据安全法" in cited
    assert document in record("数据安全法").cited_by.all()


def test_status_reads_the_effective_date_against_today():
    document = PolicyDocument(name="x", effective_on=datetime.date(2030, 1, 1))
    assert document.status_shown(today=datetime.date(2029, 12, 31)) == "尚未施行"
    assert document.status_shown(today=datetime.date(2030, 1, 1)) == "现行有效"
    document.status = PolicyDocument.Status.REPEALED
    assert document.status_shown(today=datetime.date(2030, 1, 1)) == "已废止"


def test_rebuild_is_idempotent_and_keeps_editors_fields_merges_and_splits(tmp_path):
    folder = tmp_path / "in"
    notice(folder)
    news(folder, 1, title="测试稿：两份文件", body="《测试甲管理办法》与《测试乙管理办法》一并实施。")
    news(folder, 2, title="测试稿：联合解读", body="《测试丙实施细则》（测信部数〔2020〕9号）明确了细则。")
    ingest(folder)
    document = record(NOTICE_NUMBER)
    # an editor corrects a field, merges two records and splits a linked pair
    document.topic = "编辑定的主题"
    document.editor_fields = ["topic"]
    document.save()
    merged = policy_documents_merge(
        target_id=record("测试甲管理办法").pk, other_ids=[record("测试乙管理办法").pk]
    )
    assert record("测试乙管理办法") == merged
    rule = record("测试丙实施细则")
    assert record("测信部数〔2020〕9号") == rule
    policy_document_split(document_id=rule.pk, names=["测信部数〔2020〕9号"])
    assert record("测信部数〔2020〕9号") != record("测试丙实施细则")

    def state() -> list[tuple]:
        return sorted(
            (d.name, d.title, d.doc_number, tuple(d.issuers), d.topic, d.status, d.official_article_id)
            for d in PolicyDocument.objects.all()
        ) + sorted(PolicyMention.objects.values_list("article_id", "document__name"))

    call_command("policy_rebuild", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    first = state()
    call_command("policy_rebuild", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert state() == first
    assert record(NOTICE_NUMBER).topic == "编辑定的主题"
    assert record("测试乙管理办法") == record("测试甲管理办法")
    assert record("测信部数〔2020〕9号") != record("测试丙实施细则")
    assert record(NOTICE_NUMBER).status_shown() == "现行有效"


def test_the_library_finds_a_document_by_its_number_in_any_brackets_first(tmp_path):
    folder = tmp_path / "in"
    notice(folder)
    news(folder, 1, title="测试稿：其他", body="《测试丁管理办法》今起实施。")
    ingest(folder)
    document = record(NOTICE_NUMBER)
    for query in (
        "工信部联数〔2023〕941号",
        "工信部联数[2023]941号",
        "工信部联数（2023）941号",
        "工信部联数(2023)941号",
        "工信部联数【2023】941号",
        "工信部联数〔２０２３〕９４１号",
        "测试数据资源开发利用三年行动计划",
    ):
        library = policy_library_search(params=PolicyLibraryParams(q=query))
        assert library.match == document, query
        assert library.page.object_list[0] == document, query


def test_the_library_facets_count_with_the_other_selections_and_a_page_past_the_end_is_empty(tmp_path):
    folder = tmp_path / "in"
    notice(folder)
    ingest(folder)
    everything = policy_library_search(params=PolicyLibraryParams())
    issuers = dict((value, count) for value, count, _ in everything.facets["issuer"])
    listed = PolicyDocument.objects.exclude(title="")
    for issuer in ("财政部", "工业和信息化部", "全国人民代表大会常务委员会"):
        assert issuers[issuer] == sum(issuer in (d.issuers or []) for d in listed), issuer
    assert issuers["财政部"] == 1  # the notice: no seeded record names it
    chosen = policy_library_search(params=PolicyLibraryParams(issuer=("财政部",)))
    assert [d.doc_number for d in chosen.page.object_list] == [NOTICE_NUMBER]
    # the issuer facet still lists the others (its own selection does not narrow it)
    assert len(chosen.facets["issuer"]) == len(everything.facets["issuer"])
    years = [value for value, _count, _ in everything.facets["year"]]
    assert years == sorted(years, reverse=True)
    newest = policy_library_search(params=PolicyLibraryParams(sort="newest"))
    dates = [d.signed_on or d.published_on for d in newest.page.object_list if d.signed_on or d.published_on]
    assert dates == sorted(dates, reverse=True)
    past = policy_library_search(params=PolicyLibraryParams(page=2))
    assert past.page.number == 2 and list(past.page.object_list) == []


def test_the_library_page_and_the_detail_page_show_the_record(client, tmp_path):
    folder = tmp_path / "in"
    notice(folder)
    news(folder, 1, title="测试稿：三年行动计划解读", body=f"《{PLAN}》提出了三年目标。")
    ingest(folder)
    document = record(NOTICE_NUMBER)
    html = client.get("/policy/", {"q": "工信部联数[2023]941号"}).content.decode()
    assert "指的就是这份文件" in html and NOTICE_NUMBER in html and "工业和信息化部、财政部" in html
    html = client.get(f"/policy/{document.pk}/").content.decode()
    assert "原文" in html and document.official_article.title in html
    assert "测试稿：三年行动计划解读" in html and ">解读<" in html
    assert "2023年6月12日" in html and "2023年7月1日" in html
    assert "中华人民共和国数据安全法" in html  # cited
    html = client.get(f"/articles/{document.official_article_id}/").content.decode()
    assert f"本文是政策文件原文（{NOTICE_NUMBER}）" in html and f'href="/policy/{document.pk}/"' in html
    bad = client.get("/policy/", {"page": "abc", "sort": "nonsense", "year": "x" * 500})
    assert bad.status_code == 200


def test_the_api_lists_and_reads_records_and_documents_them(client, tmp_path):
    folder = tmp_path / "in"
    notice(folder)
    ingest(folder)
    document = record(NOTICE_NUMBER)
    listing = client.get("/api/policies", {"q": "工信部联数(2023)941号"}).json()
    assert listing["match_id"] == document.pk and listing["results"][0]["id"] == document.pk
    assert listing["results"][0]["issuers"] == ["工业和信息化部", "财政部"]
    assert {"issuer", "category", "year", "status", "topic"} <= set(listing["facets"])
    detail = client.get(f"/api/policies/{document.pk}").json()
    assert detail["doc_number"] == NOTICE_NUMBER and detail["signed_on"] == "2023-06-12"
    assert detail["official_article_id"] == document.official_article_id
    assert any(ref["name"] == "中华人民共和国数据安全法" for ref in detail["cites"])
    assert client.get("/api/policies/999999").status_code == 404
    assert client.get("/api/policies", {"page": 9}).json()["results"] == []
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/policies" in paths and "/api/policies/{id}" in paths


def test_editors_split_and_set_fields_in_the_admin_and_the_next_ingest_keeps_them(client, tmp_path):
    folder = tmp_path / "in"
    news(folder, 2, title="测试稿：联合解读", body="《测试丙实施细则》（测信部数〔2020〕9号）明确了细则。")
    ingest(folder)
    rule = record("测试丙实施细则")
    User.objects.create_superuser("editor", "e@example.org", "pw")
    client.login(username="editor", password="pw")
    response = client.post(
        f"/admin/articles/policydocument/{rule.pk}/change/",
        {
            "name": rule.name,
            "aliases": "\n".join(rule.aliases),
            "split_names": "测信部数〔2020〕9号",
            "kept_apart": "[]",
            "title": "",
            "doc_number": "",
            "issuers": "工信部",
            "category": "规范性文件",
            "status": "",
            "topic": "",
            "mentions-TOTAL_FORMS": "0",
            "mentions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.issuers == ["工业和信息化部"]
    assert "category" in rule.editor_fields and "issuers" in rule.editor_fields
    number = record("测信部数〔2020〕9号")
    assert number != rule
    news(folder, 3, title="测试稿：再次提及", body="《测试丙实施细则》（测信部数〔2020〕9号）继续实施。")
    ingest(folder)
    assert record("测信部数〔2020〕9号") != record("测试丙实施细则")


def test_one_batch_can_add_a_name_to_a_record_and_then_merge_it_without_losing_either():
    first = article_make(title="测试稿：甲", body="《测试戊管理办法》今日发布。")
    second = article_make(title="测试稿：乙", body="测信部数〔2020〕11号文件要求各地落实。")
    articles_policy_sync(articles=[first, second])
    assert record("测试戊管理办法") != record("测信部数〔2020〕11号")
    # one batch: the first article gives the title a second spelling, the second joins the
    # title with the number (two records become one)
    third = article_make(
        title="测试稿：丙", body="《测试戊管理办法（修订版）》（测信部数〔2020〕11号）印发。"
    )
    fourth = article_make(title="测试稿：丁", body="《测试戊管理办法》（测信部数〔2020〕11号）同时施行。")
    articles_policy_sync(articles=[third, fourth])
    document = record("测试戊管理办法")
    assert record("测信部数〔2020〕11号") == document
    assert record("测试戊管理办法(修订版)") == document
    assert document.doc_number == "测信部数〔2020〕11号"
    assert set(document.mentions.values_list("article__title", flat=True)) == {
        "测试稿：甲",
        "测试稿：乙",
        "测试稿：丙",
        "测试稿：丁",
    }
    assert PolicyDocument.objects.filter(name__startswith="测").count() == 1


def test_the_library_links_toggle_a_facet_keep_the_others_and_start_again_at_page_one(client, tmp_path):
    import html as html_lib
    import re
    from urllib.parse import parse_qs, urlparse

    folder = tmp_path / "in"
    notice(folder)
    ingest(folder)
    page = client.get("/policy/", {"issuer": "财政部", "page": "1", "q": "行动计划"}).content.decode()
    links = [html_lib.unescape(h) for h in re.findall(r'href="(/policy/\?[^"]*)"', page)]
    newest = next(parse_qs(urlparse(h).query) for h in links if "sort=newest" in h)
    assert newest["issuer"] == ["财政部"] and newest["q"] == ["行动计划"] and "page" not in newest
    selected = re.search(r'<a href="([^"]+)" aria-current="true" class="is-selected">财政部<', page)
    off = parse_qs(urlparse(html_lib.unescape(selected.group(1))).query)  # selected: a click removes it
    assert off == {"q": ["行动计划"]}
    cleared = re.search(r'<a href="([^"]+)">清除筛选</a>', page)
    assert parse_qs(urlparse(html_lib.unescape(cleared.group(1))).query) == {"q": ["行动计划"]}


def test_one_batch_naming_a_record_by_two_of_its_names_keeps_every_name_it_adds():
    """A record found by its title in one article of a batch and by its number in another is
    one record in memory: the name the first adds is not lost when the second adds one."""
    first = article_make(title="测试稿：甲", body="《测试庚管理办法》（测信部数〔2021〕5号）印发。")
    articles_policy_sync(articles=[first])
    document = record("测试庚管理办法")
    assert record("测信部数〔2021〕5号") == document
    by_number = article_make(
        title="测试稿：乙", body="《测试庚管理办法（修订版）》（测信部数〔2021〕5号）印发。"
    )
    by_title = article_make(title="测试稿：丙", body="《测试庚管理办法》（测信部数〔2021〕6号）同时施行。")
    articles_policy_sync(articles=[by_number, by_title])
    assert record("测试庚管理办法(修订版)") == document
    assert record("测信部数〔2021〕6号") == document
    document.refresh_from_db()
    assert {"测试庚管理办法(修订版)", "测信部数〔2021〕6号"} <= set(document.aliases)


def test_a_batch_naming_many_new_documents_creates_their_records_together_and_joins_them_alike():
    """The records a batch starts are created in one insert for the linked names (a title
    with its number) and one for the rest, whatever their number, and joined as when they
    were created one by one: a later title-and-number pair whose title a pair before it
    started adds its number to that record."""
    batch = [
        article_make(
            title=f"测试稿：批{n}",
            body=f"《测试批量{n}号管理办法》（测信部数〔2022〕{n}号）印发，参照《测试批量{n}号实施细则》。",
        )
        for n in range(1, 13)
    ]
    batch.append(
        article_make(title="测试稿：批尾", body="《测试批量1号管理办法》（测信部数〔2022〕99号）同时施行。")
    )
    with CaptureQueriesContext(connection) as queries:
        articles_policy_sync(articles=batch)
    inserts = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("INSERT") and 'INTO "articles_policydocument" (' in q["sql"]
    ]
    assert len(inserts) == 2
    for n in range(1, 13):
        document = record(f"测试批量{n}号管理办法")
        assert record(f"测信部数〔2022〕{n}号") == document
        assert record(f"测试批量{n}号实施细则") != document
        assert set(document.mentions.values_list("article__title", flat=True)) >= {f"测试稿：批{n}"}
    assert record("测信部数〔2022〕99号") == record("测试批量1号管理办法")
    assert PolicyDocument.objects.filter(name__startswith="测试批量").count() == 24


def test_the_official_texts_of_one_batch_fill_their_records_together_each_with_its_own(tmp_path):
    """Five notices ingested in one batch: their records are written in one update, and each
    takes its own text's title, number, issuers and dates, cites what it names and marks
    what it repeals."""
    folder = tmp_path / "in"

    def issuers(n: int) -> list[str]:
        return ["工业和信息化部"] if n % 2 else ["工业和信息化部", "财政部"]

    for n in range(1, 6):
        write(
            folder,
            f"notice-{n}.md",
            official_file(
                title=f"测试部关于印发测试批量第{n}号管理办法的通知",
                number=f"测试部发〔2021〕{n}号",
                issuers=" ".join(issuers(n)),
                date=f"2021-0{n}-10",
                body=(
                    f"测试部关于印发测试批量第{n}号管理办法的通知\n\n测试部发〔2021〕{n}号\n\n各有关单位：\n\n"
                    f"现将《测试批量第{n}号管理办法》印发给你们，依据《测试批量基本条例》，请认真贯彻落实。"
                    f"《测试批量旧{n}号办法》同时废止。\n\n{''.join(issuers(n))}\n2021年{n}月8日\n"
                ),
            ),
        )
    with CaptureQueriesContext(connection) as queries:
        assert "新建 5" in ingest(folder)
    updates = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "articles_policydocument"') and '"official_article_id"' in q["sql"]
    ]
    assert len(updates) == 1
    general = record("测试批量基本条例")
    for n in range(1, 6):
        document = record(f"测试部发〔2021〕{n}号")
        assert document.official_article.title == f"测试部关于印发测试批量第{n}号管理办法的通知"
        assert document.doc_number == f"测试部发〔2021〕{n}号"
        assert document.signed_on == datetime.date(2021, n, 8)
        assert document.issuers == issuers(n)
        repealed = record(f"测试批量旧{n}号办法")
        assert set(document.cites.all()) == {general, repealed}
        assert repealed.status == PolicyDocument.Status.REPEALED
