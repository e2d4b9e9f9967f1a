"""The policy library over the real policy notices and news (skipped when ../shared is absent):
every notice one article and the official text of its record, numbers in any brackets, short
titles and editors' aliases all finding their document first."""

from __future__ import annotations

import io
import random
import unicodedata
from pathlib import Path

import pytest
from django.core.management import call_command

from articles.models import Article, PolicyDocument
from articles.parsing import front_matter_load, front_matter_split
from articles.policy import (
    PolicyLibraryParams,
    policy_aliases_shown,
    policy_document_for_name,
    policy_library_search,
    policy_names_sync,
)
from articles.policy_refs import normalise_doc_number

pytestmark = [pytest.mark.django_db, pytest.mark.corpus]

# Names analysts give these notices, each checked by hand against the notice's own text
# (alias → the 文号 of the notice it means). Editors add such names in the admin.
ALIASES = {
    "电力装备行动计划": "工信部联重装〔2022〕105号",
    "漏洞管理规定": "工信部联网安〔2021〕66号",
    "漏洞收集平台备案办法": "工信部网安〔2022〕146号",
    "重大技术装备进口税收细则": "工信部联财〔2020〕118号",
    "污染防治攻坚战三年行动计划": "工信部节〔2018〕136号",
    "工信统计管理办法": "工信部运行〔2021〕67号",
    "工业互联网安全指导意见": "工信部联网安〔2019〕168号",
    "动力电池梯次利用管理办法": "工信部联节〔2021〕114号",
    "原料药绿色发展指导意见": "工信部联消费〔2019〕278号",
    "蚕桑丝绸行动计划": "工信部联消费〔2020〕151号",
    "工业互联网+安全生产行动计划": "工信部联信发〔2020〕157号",
    "智能交通车联网标准体系指南": "工信部联科〔2021〕23号",
    "中小企业竞争力若干措施": "工信部企业〔2021〕169号",
    "专精特新办实事清单": "工信部企业〔2021〕170号",
    "款项支付投诉处理办法": "工信部企业〔2021〕224号",
    "5905-5925MHz频段管理规定": "工信部无〔2018〕203号",
    "无线电发射设备销售备案办法": "工信部无〔2018〕285号",
    "卫星网络申报简易程序": "工信部无〔2019〕128号",
    "广西数字经济三年行动计划": "桂政办发〔2018〕95号",
    "重庆自动驾驶车联网行动计划": "渝府办〔2022〕26号",
    "重庆集成电路实施方案": "渝府办发〔2018〕136号",
    "中小企业数字化赋能专项行动": "工信厅企业〔2020〕10号",
    "建材智能制造行动计划": "工信厅原〔2020〕39号",
    "推动5G加快发展通知": "工信部通信〔2020〕49号",
}

BRACKETS = [("〔", "〕"), ("[", "]"), ("（", "）"), ("(", ")"), ("【", "】")]


def front(path: Path) -> dict[str, object]:
    head, _body = front_matter_split(text=path.read_text(encoding="utf-8"))
    return front_matter_load(raw=head)[0]


def number_forms(number: str) -> list[str]:
    """The number as people type it: five bracket styles, and full-width digits."""
    forms = [number.replace("〔", left).replace("〕", right) for left, right in BRACKETS]
    forms.append(
        unicodedata.normalize("NFKC", number).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    )
    return forms


@pytest.fixture
def library(policy_corpus_dir: Path, corpus_dir: Path) -> dict[Path, dict[str, object]]:
    out = io.StringIO()
    call_command(
        "ingest",
        str(policy_corpus_dir),
        str(corpus_dir),
        "--sync",
        "--no-progress",
        stdout=out,
        stderr=io.StringIO(),
    )
    return {path: front(path) for path in sorted(policy_corpus_dir.glob("*.md"))}


def test_every_notice_is_one_article_and_numbered_ones_fill_their_record(library, policy_corpus_dir):
    notices = Article.objects.filter(url="")
    assert notices.count() == len(library)
    again = io.StringIO()
    call_command(
        "ingest", str(policy_corpus_dir), "--sync", "--no-progress", stdout=again, stderr=io.StringIO()
    )
    assert f"未变化 {len(library)}" in again.getvalue()
    numbered = {path: fields for path, fields in library.items() if fields.get("doc_number")}
    assert len(numbered) >= 190
    for path, fields in numbered.items():
        number = normalise_doc_number(str(fields["doc_number"]))
        document = policy_document_for_name(value=number)
        assert document is not None, path.name
        assert document.official_article is not None and document.official_article.url == "", path.name
        assert document.doc_number == number, path.name
        assert document.issuers, path.name
        assert document.signed_on is not None, path.name
        assert str(document.published_on) == str(fields["date"]), path.name
        assert document.signed_on <= document.published_on, path.name
    # one record per document: no two records hold the same number
    numbers = list(PolicyDocument.objects.exclude(doc_number="").values_list("doc_number", flat=True))
    assert len(numbers) == len(set(numbers))


def test_numbers_in_any_brackets_and_short_titles_find_their_document_first(library):
    documents = list(PolicyDocument.objects.exclude(official_article=None).exclude(doc_number=""))
    for document in documents:
        for form in number_forms(document.doc_number):
            assert policy_document_for_name(value=form) == document, form
    # the titles the notices issue (关于印发《X》的通知 → X), as people write them
    short = [(alias, document) for document in documents for alias in policy_aliases_shown(document=document)]
    assert len(short) >= 40
    for alias, document in short:
        assert policy_document_for_name(value=alias) == document, alias
    random.seed(12)
    for document in random.sample(documents, 15):
        for query in (number_forms(document.doc_number)[random.randrange(5)], document.title):
            library_page = policy_library_search(params=PolicyLibraryParams(q=query))
            assert library_page.match == document, query
            assert library_page.page.object_list[0] == document, query


def test_aliases_editors_add_find_their_document_first(library):
    for alias, number in ALIASES.items():
        document = policy_document_for_name(value=number)
        assert document is not None, number
        document.aliases = [*document.aliases, alias]
        document.save(update_fields=["aliases"])
        policy_names_sync(documents=[document])
    for alias, number in ALIASES.items():
        document = policy_document_for_name(value=number)
        assert policy_document_for_name(value=alias) == document, alias
        page = policy_library_search(params=PolicyLibraryParams(q=alias))
        assert page.page.object_list[0] == document, alias
