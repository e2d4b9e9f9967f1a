"""Policy documents in the main search: a query that names one (by alias, short title or 文号
in any brackets) shows it first and finds it under all its names; official texts carry their
issuers as a facet and can be searched alone."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from haystack import connections

from articles.models import PolicyDocument
from articles.policy import policy_document_for_name
from articles.tests.helpers import article_text, wechat_url
from articles.tests.test_policy_records import NOTICE_NUMBER, PLAN, notice
from search.signals import article_ids_enqueue


def index_clear() -> None:
    connections["default"].get_backend().clear()


def news(folder: Path, n: int, *, title: str, body: str) -> None:
    text = article_text(
        title=title, url=wechat_url(700 + n), source="测试合规周刊", date="2023-08-01", body=body
    )
    (folder / f"n{n}.md").write_text(text, encoding="utf-8")


@pytest.fixture
def library(transactional_db: None, tmp_path: Path) -> Iterator[Path]:
    index_clear()
    folder = tmp_path / "in"
    folder.mkdir()
    notice(folder)
    news(folder, 1, title="测试稿：出海企业合规清单", body="出海企业要同时满足PIPL与GDPR的要求。")
    news(
        folder,
        2,
        title="测试稿：个人信息处理规则",
        body="《中华人民共和国个人信息保护法》对敏感个人信息作了专门规定。",
    )
    news(folder, 3, title="测试稿：个保法三周年", body="个人信息保护法施行三年来，执法案例逐年增加。")
    news(folder, 4, title="测试稿：无关稿件", body="本周多地发布算力基础设施建设方案。")
    news(folder, 5, title="测试稿：行动计划解读", body=f"《{PLAN}》提出三年目标，专家进行了解读。")
    call_command("ingest", str(folder), "--sync", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    yield folder
    index_clear()


def search(client: Client, **params) -> dict:
    response = client.get("/api/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def titles(body: dict) -> set[str]:
    return {hit["title"] for hit in body["results"]}


def test_an_alias_finds_the_articles_naming_the_document_any_way_and_names_it(
    client: Client, library
) -> None:
    law = policy_document_for_name(value="个保法")
    for query in ("个保法", "PIPL", "个人信息保护法"):
        body = search(client, q=query)
        assert body["policy"]["id"] == law.pk, query
        assert {"测试稿：出海企业合规清单", "测试稿：个人信息处理规则", "测试稿：个保法三周年"} <= titles(
            body
        ), query
        assert "测试稿：无关稿件" not in titles(body)
    html = client.get("/search/", {"q": "个保法"}).content.decode()
    assert 'class="policy-card"' in html and "中华人民共和国个人信息保护法" in html
    assert html.index('class="policy-card"') < html.index('class="results"')


def test_a_number_in_any_brackets_puts_the_document_first(client: Client, library) -> None:
    document = policy_document_for_name(value=NOTICE_NUMBER)
    for query in (
        "工信部联数〔2023〕941号",
        "工信部联数[2023]941号",
        "工信部联数（2023）941号",
        "工信部联数【2023】941号",
    ):
        body = search(client, q=query)
        assert body["policy"]["id"] == document.pk, query
        assert body["results"][0]["id"] == document.official_article_id, query


def test_official_texts_carry_their_issuers_and_can_be_searched_alone(client: Client, library) -> None:
    everything = search(client)
    issuers = {item["value"]: item["count"] for item in everything["facets"]["issuer"]}
    assert issuers == {"工业和信息化部": 1, "财政部": 1}
    kinds = {item["value"]: item["count"] for item in everything["facets"]["doctype"]}
    assert kinds == {"政策原文": 1, "新闻报道": 5}
    official = search(client, type="政策原文")
    assert [hit["id"] for hit in official["results"]] == [
        policy_document_for_name(value=PLAN).official_article_id
    ]
    by_issuer = search(client, issuer="财政部")
    assert by_issuer["count"] == 1
    html = client.get("/search/", {"type": "政策原文"}).content.decode()
    assert 'id="search-official" type="checkbox" name="type" value="政策原文" checked' in html
    assert '<input type="hidden" name="type" value="政策原文">' not in html  # the checkbox carries it


def test_a_rebuild_that_changes_a_record_from_its_text_reindexes_the_text(client: Client, library) -> None:
    """``policy_rebuild`` writes the records of a batch's official texts together, with no
    save signal: the articles naming a changed record (its official text among them) are
    still re-indexed, so the issuer facet shows what the text says again."""
    document = policy_document_for_name(value=PLAN)
    # an earlier reading, written (and indexed) before the rule that reads the issuers was fixed
    PolicyDocument.objects.filter(pk=document.pk).update(issuers=["测试旧机关"])
    article_ids_enqueue(ids=[document.official_article_id])
    assert {item["value"] for item in search(client)["facets"]["issuer"]} == {"测试旧机关"}
    call_command("policy_rebuild", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert {item["value"] for item in search(client)["facets"]["issuer"]} == {"工业和信息化部", "财政部"}
