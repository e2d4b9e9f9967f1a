"""Index build, index size, query latency and memory on a synthetic corpus: the project's
engines (``--engine``) side by side with the tutorial setup, in one run.

Documents are recombined from the real corpus's paragraphs, titles, sources and dates
and indexed into temporary directories (Whoosh) or temporary indexes (Elasticsearch);
the project's index and database rows are left alone.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from search.bench.configs import ELASTICSEARCH, PROJECT_ENGINES, TUTORIAL
from search.bench.corpus import corpus_pool_load
from search.bench.run import config_measure, curve_table, figures_table, hits_table, query_mix_build

DEFAULT_CORPUS = Path(settings.BASE_DIR).parent / "shared" / "corpus"


class Command(BaseCommand):
    help = "用合成语料测试建索引速度、索引大小和查询延迟，并与常见教程配置对比。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--docs",
            default="20000",
            help="合成文章数（默认 20000）；用逗号分隔几个数（如 10000,20000,50000,100000）时，"
            "同一个索引逐步建到每个规模并各测一次，给出成本曲线",
        )
        parser.add_argument(
            "--tutorial-max-docs",
            type=int,
            default=None,
            help="教程配置只建到这个规模（它建索引很慢；默认与 --docs 相同）",
        )
        parser.add_argument(
            "--engine",
            default="whoosh",
            help="要测的本项目检索引擎：whoosh、elasticsearch，或用逗号分隔几个，all 表示全部（默认 whoosh）",
        )
        parser.add_argument("--queries", type=int, default=None, help="只用查询组合里的前 N 条（默认全部）")
        parser.add_argument(
            "--repeat", type=int, default=5, help="每条查询计时的次数（默认 5，另有 1 次预热）"
        )
        parser.add_argument("--seed", type=int, default=1, help="随机种子，相同种子生成相同语料")
        parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="真实语料目录")
        parser.add_argument("--tutorial", action="store_true", default=True, help="同时测试教程配置（默认）")
        parser.add_argument("--no-tutorial", dest="tutorial", action="store_false", help="只测试本项目配置")
        parser.add_argument("--no-progress", dest="progress", action="store_false", help="不显示进度条")
        parser.add_argument("--verbose", action="store_true", help="列出每条查询的命中数")

    def handle(self, *args, **options) -> None:
        docs = _sizes_parse(str(options["docs"]))
        repeat: int = options["repeat"]
        if repeat < 1:
            raise CommandError("--repeat 必须大于 0")
        engines = _engines_parse(options["engine"])
        if not _database_migrated():
            raise CommandError("数据库还没有建表：请先运行 python manage.py migrate，再运行本命令。")
        corpus: Path = options["corpus"]
        if not corpus.is_dir():
            raise CommandError(f"语料目录不存在：{corpus}")
        try:
            pool = corpus_pool_load(corpus_dir=corpus)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        queries = query_mix_build(pool=pool)
        if options["queries"] is not None:
            if options["queries"] < 1:
                raise CommandError("--queries 必须大于 0")
            queries = queries[: options["queries"]]

        sizes = "、".join(str(n) for n in docs)
        self.stdout.write(
            f"合成语料：{sizes} 篇（来自 {len(pool.titles)} 篇真实文章的 {len(pool.paragraphs)} 个段落），"
            f"种子 {options['seed']}；{len(queries)} 条查询，每条计时 {repeat} 次。"
        )
        if ELASTICSEARCH in engines:
            _elasticsearch_check()
        names = [*engines, TUTORIAL] if options["tutorial"] else engines
        tutorial_max = options["tutorial_max_docs"]
        curves = {}
        for name in names:
            wanted = docs
            if name == TUTORIAL and tutorial_max is not None:
                wanted = [n for n in docs if n <= tutorial_max] or [min(tutorial_max, docs[0])]
            started = time.perf_counter()
            curves[name] = config_measure(
                name=name,
                pool=pool,
                docs=wanted,
                seed=options["seed"],
                queries=queries,
                repeat=repeat,
                progress=options["progress"],
            )
            self.stdout.write(f"{name}：用时 {time.perf_counter() - started:.0f} 秒")
        for size in docs:
            figures = {
                name: point for name, points in curves.items() for point in points if point.docs == size
            }
            self.stdout.write("")
            if len(docs) > 1:
                self.stdout.write(f"== {size} 篇 ==")
            self.stdout.write(figures_table(figures=figures))
            if options["verbose"]:
                self.stdout.write("")
                self.stdout.write(hits_table(queries=queries, figures=figures))
        if len(docs) > 1:
            self.stdout.write("")
            self.stdout.write("== 成本曲线（同一个索引逐步建大） ==")
            self.stdout.write(curve_table(curves=curves))


def _sizes_parse(value: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise CommandError(f"--docs 应是一个或几个用逗号分隔的正整数，而不是 {value!r}") from None
    if not sizes or sizes[0] < 1:
        raise CommandError("--docs 必须大于 0")
    return sizes


def _engines_parse(value: str) -> list[str]:
    wanted = [part.strip() for part in value.split(",") if part.strip()]
    if wanted == ["all"]:
        return list(PROJECT_ENGINES)
    unknown = [name for name in wanted if name not in PROJECT_ENGINES]
    if unknown or not wanted:
        raise CommandError(
            f"未知的检索引擎：{'、'.join(unknown) or '（空）'}；可选 {'、'.join(PROJECT_ENGINES)} 或 all。"
        )
    # measured in a fixed order whatever order they were named in
    return [name for name in PROJECT_ENGINES if name in wanted]


def _elasticsearch_check() -> None:
    """A clear message before minutes of work when the server is not there."""
    import elasticsearch

    url = settings.ELASTICSEARCH_URL
    try:
        elasticsearch.Elasticsearch(settings.ELASTICSEARCH_URLS, timeout=5).info()
    except elasticsearch.ElasticsearchException as exc:
        raise CommandError(
            f"Elasticsearch 无法连接（{url}）：先启动它（make es），或检查 ELASTICSEARCH_URL。"
        ) from exc


def _database_migrated() -> bool:
    """Whether the search tables exist (queries read the dictionary version and synonyms)."""
    try:
        tables = set(connection.introspection.table_names())
    except DatabaseError:
        return False
    return {"search_dictionarystate", "search_synonym", "search_dictionaryterm"} <= tables
