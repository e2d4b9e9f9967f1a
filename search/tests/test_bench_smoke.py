from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command

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
    assert header[1:3] == ["ours", "tutorial"]
    rows = {line.split("|")[0].strip(): [cell.strip() for cell in line.split("|")[1:]] for line in lines[1:]}
    for metric in METRICS:
        label = next(name for name in rows if name.startswith(metric))
        ours, tutorial, ratio = rows[label]
        assert float(ours) > 0, label
        assert float(tutorial) > 0, label
        assert float(ratio) == pytest.approx(float(ours) / float(tutorial), rel=0.1), label
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
    lines = [line for line in out.getvalue().splitlines() if line.startswith("查询延迟 p50")]
    ours, tutorial, _ = (cell.strip() for cell in lines[0].split("|")[1:])
    assert float(ours) > 0
    assert tutorial == "-"
