"""Measure search quality on the judged query set against the articles in the database.

The corpus must already be ingested (``manage.py ingest PATH --sync``): corpus file
names are mapped to articles through the ingest records, and every query runs through
``search.selectors.article_search`` exactly as the search page calls it.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from articles.models import Article
from search.engines import ENGINES, engine_select
from search.evaluation.judged import (
    JUDGED_QUERIES_PATH,
    JudgedQuery,
    JudgedSetError,
    file_articles_map,
    judged_queries_load,
    judged_set_evaluate,
)
from search.evaluation.metrics import EVERYDAY, HARD, GroupSummary, QueryOutcome, outcomes_summarise
from search.evaluation.report import table_render
from search.selectors import QuerySyntaxError, SearchParams, article_search

GROUP_LABELS = {
    EVERYDAY: "日常查询",
    HARD: "困难查询",
    "cve": "  CVE 编号",
    "traditional": "  繁体",
    "fullwidth": "  全角",
    "subword": "  词的一部分",
    "abbreviation": "  简称/同义词",
    "phrase": "  引号短语",
    "single_char": "  单字",
}


def product_search_ids(query: str, k: int) -> list[int | frozenset[int]]:
    """The first result page as the search page shows it: one entry per story, with its reposts."""
    try:
        page = article_search(params=SearchParams(q=query, page=1, page_size=k))
    except QuerySyntaxError:
        return []
    return [
        frozenset([int(hit.id), *(int(other.id) for other in hit.story_others)])
        if hit.story_others
        else int(hit.id)
        for hit in page.results
    ]


def outcomes_table(*, outcomes: list[QueryOutcome], k: int) -> str:
    rows = [
        [
            outcome.kind,
            outcome.query,
            f"{outcome.recall:.2f}",
            f"{outcome.rr:.2f}",
            " ".join(f"{name}(未入库)" if name in outcome.absent else name for name in outcome.missed) or "-",
        ]
        for outcome in outcomes
    ]
    return table_render(
        header=["类型", "查询", f"recall@{k}", "RR", "未找到的文件"],
        rows=rows,
        right=[False, False, True, True],
    )


def summary_table(*, groups: dict[str, GroupSummary], k: int) -> str:
    order = [EVERYDAY, HARD, *sorted(name for name in groups if name not in {EVERYDAY, HARD})]
    rows = [
        [
            GROUP_LABELS.get(name, f"  {name}"),
            str(groups[name].count),
            f"{groups[name].recall:.3f}",
            f"{groups[name].mrr:.3f}",
        ]
        for name in order
        if groups[name].count
    ]
    return table_render(
        header=["分组", "查询数", f"recall@{k}", "MRR"], rows=rows, right=[False, True, True, True]
    )


def corpus_missing(*, queries: list[JudgedQuery], corpus: Path) -> list[str]:
    names = {name for judged in queries for name in judged.expected}
    return sorted(name for name in names if not (corpus / name).is_file())


class Command(BaseCommand):
    help = "用标注好的查询集评估检索质量（语料需先用 manage.py ingest 导入）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queries", type=Path, default=JUDGED_QUERIES_PATH, help="标注查询文件（YAML/JSON）"
        )
        parser.add_argument("--corpus", type=Path, default=None, help="语料目录，用于核对期望文件是否存在")
        parser.add_argument("--k", type=int, default=10, help="只看前 k 条结果（默认 10，即第一页）")
        parser.add_argument("--min-recall-everyday", type=float, default=None)
        parser.add_argument("--min-recall-hard", type=float, default=None)
        parser.add_argument("--verbose", action="store_true", help="列出未命中查询的前 k 条结果")
        parser.add_argument(
            "--engine",
            choices=sorted(ENGINES),
            default=None,
            help="用哪个检索引擎评估（默认 SEARCH_BACKEND）；索引需先用 rebuild_index 建好",
        )

    def handle(self, *args, **options) -> None:
        if options["engine"]:
            engine_select(name=options["engine"])
        k: int = options["k"]
        if k < 1:
            raise CommandError("--k 必须大于 0")
        try:
            queries = judged_queries_load(path=options["queries"])
        except (OSError, JudgedSetError) as exc:
            raise CommandError(f"无法读取标注查询：{exc}") from exc

        corpus: Path | None = options["corpus"]
        if corpus is not None:
            if not corpus.is_dir():
                raise CommandError(f"语料目录不存在：{corpus}")
            missing = corpus_missing(queries=queries, corpus=corpus)
            if missing:
                self.stderr.write(f"注意：{len(missing)} 个期望文件不在语料目录中：{' '.join(missing)}")

        file_map = file_articles_map(names={name for judged in queries for name in judged.expected})
        if not file_map:
            raise CommandError(
                "数据库里找不到任何期望文件对应的文章，请先运行 manage.py ingest 语料目录 --sync"
            )

        outcomes = judged_set_evaluate(queries=queries, file_map=file_map, search=product_search_ids, k=k)
        self.stdout.write(outcomes_table(outcomes=outcomes, k=k))
        if options["verbose"]:
            self._write_misses(queries=queries, outcomes=outcomes, k=k)
        groups = outcomes_summarise(outcomes=outcomes)
        absent = sorted({name for outcome in outcomes for name in outcome.absent})
        self.stdout.write("")
        self.stdout.write(summary_table(groups=groups, k=k))
        if absent:
            self.stdout.write(f"\n{len(absent)} 个期望文件没有对应文章（未导入或导入失败），按未找到计。")

        failures = []
        floor_everyday = options["min_recall_everyday"]
        floor_hard = options["min_recall_hard"]
        if floor_everyday is not None and groups[EVERYDAY].recall < floor_everyday:
            failures.append(f"日常查询 recall@{k} {groups[EVERYDAY].recall:.3f} 低于 {floor_everyday}")
        if floor_hard is not None and groups[HARD].recall < floor_hard:
            failures.append(f"困难查询 recall@{k} {groups[HARD].recall:.3f} 低于 {floor_hard}")
        if failures:
            raise CommandError("；".join(failures))

    def _write_misses(self, *, queries: list[JudgedQuery], outcomes: list[QueryOutcome], k: int) -> None:
        for judged, outcome in zip(queries, outcomes, strict=True):
            if not outcome.missed:
                continue
            ids = product_search_ids(judged.query, k)
            titles = dict(Article.objects.filter(pk__in=ids).values_list("pk", "title"))
            self.stdout.write(f"\n[{judged.kind}] {judged.query} 前 {k} 条：")
            for rank, article_id in enumerate(ids, start=1):
                self.stdout.write(f"  {rank:2d}. #{article_id} {titles.get(article_id, '?')}")
