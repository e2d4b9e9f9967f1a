from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from elasticsearch import Elasticsearch

from search.tests.engine_contract.test_elasticsearch import node_required

METRICS = ("建索引速度", "索引大小", "查询延迟 p50", "查询延迟 p95", "查询延迟 平均")


@pytest.mark.corpus
@pytest.mark.django_db
def test_bench_prints_numeric_figures_for_both_configurations(corpus_dir):
    connections_before = set(settings.HAYSTACK_CONNECTIONS)
    out = io.StringIO()
    call_command(
        "bench_search",
        docs=300,
        queries=4,
        repeat=1,
        corpus=corpus_dir,
        progress=False,
        stdout=out,
    )
    lines = [line for line in out.getvalue().splitlines() if "|" in line]
    header = [cell.strip() for cell in lines[0].split("|")]
    assert header[1:] == ["whoosh", "tutorial", "whoosh/tutorial"]
    rows = {line.split("|")[0].strip(): [cell.strip() for cell in line.split("|")[1:]] for line in lines[1:]}
    for metric in METRICS:
        label = next(name for name in rows if name.startswith(metric))
        ours, tutorial, ratio = rows[label]
        assert float(ours) > 0, label
        assert float(tutorial) > 0, label
        assert float(ratio) == pytest.approx(float(ours) / float(tutorial), rel=0.1), label
    # A fresh web process was started on our index (not on the tutorial's) and measured.
    for metric in (
        "新 web 进程 首次查询 p50",
        "提交后首次查询 p50",
        "新 web 进程 内存 RSS",
        "新 web 进程 私有内存",
    ):
        ours, tutorial, _ratio = rows[next(name for name in rows if name.startswith(metric))]
        assert float(ours) > 0 and tutorial == "-", metric
    rss = float(rows[next(name for name in rows if name.startswith("新 web 进程 内存 RSS"))][0])
    private = float(rows[next(name for name in rows if name.startswith("新 web 进程 私有内存"))][0])
    assert 50 < private < rss  # (Django, jieba and the index's arrays; the mapped files are shared)
    # The temporary connections are gone again: nothing points at the bench indexes.
    assert set(settings.HAYSTACK_CONNECTIONS) == connections_before


@pytest.mark.corpus
@pytest.mark.django_db
def test_bench_can_skip_the_tutorial_configuration(corpus_dir):
    out = io.StringIO()
    call_command(
        "bench_search",
        docs=30,
        queries=1,
        repeat=1,
        tutorial=False,
        corpus=corpus_dir,
        progress=False,
        stdout=out,
    )
    header = next(line for line in out.getvalue().splitlines() if line.startswith("指标"))
    assert [cell.strip() for cell in header.split("|")[1:]] == ["whoosh"]
    lines = [line for line in out.getvalue().splitlines() if line.startswith("查询延迟 p50")]
    (ours,) = (cell.strip() for cell in lines[0].split("|")[1:])
    assert float(ours) > 0


@pytest.mark.corpus
@pytest.mark.elasticsearch
@pytest.mark.django_db
def test_bench_measures_both_engines_side_by_side_with_their_memory(corpus_dir):
    node_required()
    out = io.StringIO()
    call_command(
        "bench_search",
        docs=200,
        queries=3,
        repeat=1,
        engine="all",
        tutorial=False,
        corpus=corpus_dir,
        progress=False,
        verbose=True,
        stdout=out,
    )
    text = out.getvalue()
    lines = [line for line in text.splitlines() if "|" in line]
    assert [cell.strip() for cell in lines[0].split("|")[1:]] == ["whoosh", "elasticsearch"]
    rows = {line.split("|")[0].strip(): [cell.strip() for cell in line.split("|")[1:]] for line in lines[1:]}
    for metric in (*METRICS, "进程峰值内存"):
        label = next(name for name in rows if name.startswith(metric))
        assert all(float(value) > 0 for value in rows[label]), (label, rows[label])
    # the server's memory is the Elasticsearch column's only
    server = rows[next(name for name in rows if name.startswith("ES 节点内存"))]
    assert server[0] == "-" and float(server[1]) > 100
    # both engines find the same documents for each query (same analysis, same query)
    hits = [line for line in lines if "/" in line and "命中" not in line and "指标" not in line]
    for line in hits[-3:]:
        cells = [cell.strip() for cell in line.split("|")]
        assert cells[2].split(" / ")[0] == cells[3].split(" / ")[0], line
    # the temporary indexes are gone
    client = Elasticsearch(settings.ELASTICSEARCH_URLS)
    assert not [name for name in client.indices.get(index="*bench_elasticsearch*") if name]


def test_an_unknown_engine_is_refused_before_any_work():
    with pytest.raises(CommandError, match="未知的检索引擎"):
        call_command("bench_search", docs=10, engine="solr", stdout=io.StringIO())


@pytest.mark.corpus
@pytest.mark.django_db
def test_bench_draws_a_cost_curve_over_one_growing_index(corpus_dir):
    out = io.StringIO()
    call_command(
        "bench_search",
        docs="120,40,80",
        queries=2,
        repeat=1,
        tutorial_max_docs=40,
        corpus=corpus_dir,
        progress=False,
        stdout=out,
    )
    text = out.getvalue()
    curve = text.split("== 成本曲线")[1]
    rows = [[cell.strip() for cell in line.split("|")] for line in curve.splitlines() if "|" in line][1:]
    whoosh = [row for row in rows if row[0] == "whoosh"]
    assert [int(row[1]) for row in whoosh] == [40, 80, 120]  # sorted, one index grown step by step
    # the index only grows, and the peak memory only rises
    assert [float(row[4]) for row in whoosh] == sorted(float(row[4]) for row in whoosh)
    assert [float(row[8]) for row in whoosh] == sorted(float(row[8]) for row in whoosh)
    assert all(float(row[2]) > 0 and float(row[5]) > 0 for row in whoosh)
    # the tutorial stops at its own limit: measured at 40, absent beyond
    assert [int(row[1]) for row in rows if row[0] == "tutorial"] == [40]
    at_80 = text.split("== 80 篇 ==")[1].split("==")[0]
    header = next(line for line in at_80.splitlines() if line.startswith("指标"))
    assert [cell.strip() for cell in header.split("|")[1:]] == ["whoosh"]
