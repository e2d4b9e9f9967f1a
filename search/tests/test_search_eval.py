from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from haystack import connections

from articles.models import Article, IngestItem, IngestRun, Source
from search.evaluation.judged import (
    HARD_KINDS,
    JUDGED_QUERIES_PATH,
    JudgedQuery,
    JudgedSetError,
    file_articles_map,
    judged_queries_load,
    judged_query_evaluate,
)
from search.evaluation.metrics import QueryOutcome, outcomes_summarise, recall_at_k, reciprocal_rank
from search.services import articles_index_sync

# Invented articles in the style of the crawled security news.
FIXTURES = {
    "a_ransom.md": (
        "某医院遭勒索软件攻击，门诊系统停摆两天",
        "攻击者加密了院内服务器并索要赎金，勒索软件团伙在暗网公布了部分病历。",
    ),
    "b_phish.md": (
        "警惕仿冒快递短信的网络钓鱼",
        "骗子群发仿冒快递的短信，诱导用户在钓鱼页面填写银行卡号和验证码。",
    ),
    "c_cve.md": (
        "某网关产品曝出远程代码执行漏洞",
        "漏洞编号 CVE-2031-12345，攻击者无需登录即可在设备上执行任意命令，厂商已发布补丁。",
    ),
    "d_misc.md": ("开源社区发布新版本构建工具", "新版本改进了缓存机制，构建速度提升约三成，与安全事件无关。"),
}


def test_recall_at_k_counts_relevant_items_within_the_first_k():
    assert recall_at_k(ranked=[1, 2, 3, 4], relevant={2, 9}, k=3) == 0.5
    assert recall_at_k(ranked=[1, 2, 3, 4], relevant={4}, k=3) == 0.0
    assert recall_at_k(ranked=[5, 1], relevant={1, 5}, k=10) == 1.0


def test_recall_at_k_is_capped_when_more_items_are_relevant_than_fit():
    assert recall_at_k(ranked=[1, 2], relevant={1, 2, 3}, k=2) == 1.0


def test_reciprocal_rank_is_one_over_the_first_relevant_position():
    assert reciprocal_rank(ranked=[7, 8, 9], relevant={9, 8}) == 0.5
    assert reciprocal_rank(ranked=[7, 8, 9], relevant={7}) == 1.0
    assert reciprocal_rank(ranked=[7, 8, 9], relevant={1}) == 0.0


def test_summaries_split_everyday_from_every_hard_kind():
    outcomes = [
        QueryOutcome(query="a", kind="everyday", recall=1.0, rr=1.0),
        QueryOutcome(query="b", kind="everyday", recall=0.5, rr=0.5),
        QueryOutcome(query="c", kind="cve", recall=0.0, rr=0.0),
        QueryOutcome(query="d", kind="phrase", recall=1.0, rr=0.25),
    ]
    groups = outcomes_summarise(outcomes=outcomes)
    assert groups["everyday"].recall == 0.75
    assert groups["everyday"].mrr == 0.75
    assert groups["hard"].count == 2
    assert groups["hard"].recall == 0.5
    assert groups["hard"].mrr == 0.125
    assert groups["cve"].count == 1


def test_duplicate_files_count_once_and_missing_files_count_as_not_found():
    judged = JudgedQuery(query="x", kind="everyday", expected=("one.md", "copy.md", "never.md"))
    outcome = judged_query_evaluate(
        judged=judged, file_map={"one.md": 10, "copy.md": 10}, ranked=[3, 10], k=10
    )
    assert outcome.recall == 0.5  # article 10 found, never.md was never ingested
    assert outcome.rr == 0.5
    assert outcome.missed == ("never.md",)
    assert outcome.absent == ("never.md",)


def test_the_shipped_judged_set_is_large_enough_and_well_formed():
    queries = judged_queries_load()
    everyday = [q for q in queries if q.kind == "everyday"]
    hard = [q for q in queries if q.kind in HARD_KINDS]
    assert len(queries) >= 45
    assert len(everyday) >= 25
    assert len(hard) >= 20
    assert all(0 < len(q.expected) <= 10 for q in queries)
    assert JUDGED_QUERIES_PATH.is_file()


def test_the_judged_set_names_only_files_of_the_real_corpus(corpus_dir):
    names = {name for q in judged_queries_load() for name in q.expected}
    assert sorted(n for n in names if not (corpus_dir / n).is_file()) == []


def test_it_rejects_a_judged_query_of_unknown_kind(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("queries:\n  - {query: 钓鱼, kind: guess, expected: [a.md]}\n", encoding="utf-8")
    with pytest.raises(JudgedSetError):
        judged_queries_load(path=path)


@pytest.fixture
def ingested_fixtures(db):
    backend = connections["default"].get_backend()
    backend.clear()
    source = Source.objects.create(name="示例安全周刊")
    old_run = IngestRun.objects.create(trigger=IngestRun.Trigger.COMMAND)
    run = IngestRun.objects.create(trigger=IngestRun.Trigger.COMMAND)
    ids = {}
    for name, (title, body) in FIXTURES.items():
        article = Article.objects.create(
            title=title,
            url_key=hashlib.sha256(name.encode()).hexdigest(),
            source=source,
            raw_text=body,
            body_text=body,
            content_hash=hashlib.sha256(body.encode()).hexdigest(),
        )
        IngestItem.objects.create(run=run, path=f"/data/corpus/{name}", article=article)
        ids[name] = article.pk
    # An older run that pointed the phishing file elsewhere: the latest run wins.
    IngestItem.objects.create(run=old_run, path="/old/b_phish.md", article_id=ids["a_ransom.md"])
    articles_index_sync(ids=list(ids.values()))
    yield ids
    backend.clear()


def _judged_file(tmp_path: Path) -> Path:
    path = tmp_path / "judged.yaml"
    path.write_text(
        """queries:
  - {query: 勒索软件, kind: everyday, expected: [a_ransom.md]}
  - {query: 网络钓鱼, kind: everyday, expected: [b_phish.md]}
  - {query: CVE-2031-12345, kind: cve, expected: [c_cve.md]}
  - {query: 勒索, kind: subword, expected: [a_ransom.md, missing.md]}
""",
        encoding="utf-8",
    )
    return path


def test_file_names_map_to_the_article_of_the_latest_ingest_run(ingested_fixtures):
    mapping = file_articles_map()
    assert mapping["b_phish.md"] == ingested_fixtures["b_phish.md"]
    assert mapping["a_ransom.md"] == ingested_fixtures["a_ransom.md"]


def test_the_command_prints_per_query_figures_and_group_summaries(ingested_fixtures, tmp_path):
    out = io.StringIO()
    call_command("search_eval", queries=_judged_file(tmp_path), stdout=out)
    text = out.getvalue()
    assert "网络钓鱼" in text
    assert "CVE-2031-12345" in text
    assert "missing.md(未入库)" in text
    summary = {line.split("|")[0].strip(): line for line in text.splitlines() if "|" in line}
    everyday_figures = [cell.strip() for cell in summary["日常查询"].split("|")[1:]]
    assert everyday_figures == ["2", "1.000", "1.000"]
    hard_figures = [cell.strip() for cell in summary["困难查询"].split("|")[1:]]
    assert hard_figures == ["2", "0.750", "1.000"]


def test_the_command_fails_when_recall_is_below_the_floor(ingested_fixtures, tmp_path):
    with pytest.raises(CommandError, match="困难查询"):
        call_command(
            "search_eval",
            queries=_judged_file(tmp_path),
            min_recall_everyday=0.95,
            min_recall_hard=0.9,
            stdout=io.StringIO(),
        )


def test_the_command_refuses_to_run_on_an_empty_database(db, tmp_path):
    with pytest.raises(CommandError, match="ingest"):
        call_command("search_eval", queries=_judged_file(tmp_path), stdout=io.StringIO())


def test_a_story_entry_finds_every_article_of_the_story_at_its_rank():
    from search.evaluation.metrics import recall_at_k, reciprocal_rank

    ranked = [1, frozenset({2, 3}), 4]
    assert recall_at_k(ranked=ranked, relevant={3, 4}, k=2) == 0.5
    assert recall_at_k(ranked=ranked, relevant={2, 3}, k=2) == 1.0
    assert reciprocal_rank(ranked=ranked, relevant={3}) == 0.5
