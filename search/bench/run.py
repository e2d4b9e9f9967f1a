"""Build both configurations, time the query mix on each, and tabulate the figures."""

from __future__ import annotations

import datetime
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from haystack import connections
from haystack.query import SearchQuerySet
from tqdm import tqdm

from search import highlight, selectors
from search.evaluation.report import table_render

from .configs import OURS, TUTORIAL, bench_connection, connection_search_index, index_size_bytes
from .corpus import BenchArticle, CorpusPool, synthetic_doc_make

FIRST_PAGE = 10


@dataclass(frozen=True)
class BenchQuery:
    label: str
    q: str
    sources: tuple[str, ...] = ()
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    sort: str = "relevance"


@dataclass
class ConfigFigures:
    name: str
    docs: int = 0
    build_seconds: float = 0.0
    size_bytes: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    # First run of each query right after the build: nothing of it cached yet.
    first_ms: list[float] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)

    @property
    def build_rate(self) -> float:
        return self.docs / self.build_seconds if self.build_seconds else 0.0

    def percentile(self, fraction: float, *, first: bool = False) -> float:
        ordered = sorted(self.first_ms if first else self.latencies_ms)
        if not ordered:
            return 0.0
        index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
        return ordered[index]

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies_ms) if self.latencies_ms else 0.0


def query_mix_build(*, pool: CorpusPool) -> list[BenchQuery]:
    """A fixed mix of what people type; the source and dates come from the corpus itself."""
    top_source = Counter(pool.sources).most_common(1)[0][0]
    newest = max(pool.dates)
    year_ago = newest - datetime.timedelta(days=365)
    return [
        BenchQuery("单个词", "漏洞"),
        BenchQuery("单个词", "勒索软件"),
        BenchQuery("单个词", "微软"),
        BenchQuery("多个词", "漏洞 利用 攻击"),
        BenchQuery("多个词", "数据 泄露 用户"),
        BenchQuery("多个词", "Windows 安全 更新"),
        BenchQuery("引号短语", '"远程代码执行"'),
        BenchQuery("引号短语", '"身份验证绕过"'),
        BenchQuery("来源筛选", "漏洞", sources=(top_source,)),
        BenchQuery("日期范围", "攻击", date_from=year_ago, date_to=newest),
        BenchQuery("按日期排序", "数据泄露", sort="newest"),
        BenchQuery("罕见词", "Zenbleed"),
        BenchQuery("罕见词", "炼油"),
        BenchQuery("单字", "宕"),
        BenchQuery("单字", "蓝"),
    ]


# --- one search call per configuration ------------------------------------------------


def ours_search_call(*, alias: str, pool: CorpusPool, seed: int) -> Callable[[BenchQuery], int]:
    """The product's search for one query: what ``article_search`` does for the first page.

    The only step replaced is reading the ten result rows from the database: the
    synthetic documents have no rows, so their title and body are rebuilt from the
    seed and highlighted with the product's own functions.
    """

    def call(bench: BenchQuery) -> int:
        params = selectors.SearchParams(
            q=bench.q,
            sources=bench.sources,
            date_from=bench.date_from,
            date_to=bench.date_to,
            sort=bench.sort,
            page=1,
            page_size=FIRST_PAGE,
        )
        matches = selectors.article_matches(params=params, using=alias)
        for pk in matches.page_ids:
            doc = synthetic_doc_make(pool=pool, pk=pk, seed=seed)
            highlight.text_highlight(text=doc.title, needles=matches.needles)
            highlight.text_snippet(text=doc.body, needles=matches.needles)
        return matches.count

    return call


def tutorial_search_call(*, alias: str) -> Callable[[BenchQuery], int]:
    """``SearchQuerySet().auto_query(q).facet('source')`` with the usual narrowing."""

    def call(bench: BenchQuery) -> int:
        sqs = SearchQuerySet(using=alias).auto_query(bench.q).facet("source")
        for source in bench.sources:
            sqs = sqs.narrow(f'source_exact:"{source}"')
        if bench.date_from:
            sqs = sqs.filter(pub_date__gte=bench.date_from)
        if bench.date_to:
            sqs = sqs.filter(pub_date__lte=bench.date_to)
        if bench.sort == "newest":
            sqs = sqs.order_by("-pub_date")
        list(sqs[:FIRST_PAGE])
        sqs.facet_counts()
        return sqs.count()

    return call


# --- measuring -------------------------------------------------------------------------


def queries_time(
    *, call: Callable[[BenchQuery], int], queries: list[BenchQuery], repeat: int, figures: ConfigFigures
) -> None:
    for bench in queries:
        # warm-up (caches, searcher, jieba), timed on its own as the first-query figures
        started = time.perf_counter()
        figures.hits.append(call(bench))
        figures.first_ms.append((time.perf_counter() - started) * 1000)
    for _ in range(repeat):
        for bench in queries:
            started = time.perf_counter()
            call(bench)
            figures.latencies_ms.append((time.perf_counter() - started) * 1000)


def config_measure(
    *,
    name: str,
    pool: CorpusPool,
    docs: int,
    seed: int,
    queries: list[BenchQuery],
    repeat: int,
    progress: bool = True,
) -> ConfigFigures:
    figures = ConfigFigures(name=name, docs=docs)
    with bench_connection(name=name) as alias:
        backend = connections[alias].get_backend()
        backend.setup()
        index = connection_search_index(alias=alias)
        bar = tqdm(total=docs, desc=f"建索引 {name}", unit="篇", disable=not progress, leave=False)
        batch_size = 1000
        for start in range(1, docs + 1, batch_size):
            batch = [
                _bench_article(pool=pool, pk=pk, seed=seed)
                for pk in range(start, min(start + batch_size, docs + 1))
            ]
            started = time.perf_counter()
            backend.update(index, batch)
            figures.build_seconds += time.perf_counter() - started
            bar.update(len(batch))
        bar.close()
        figures.size_bytes = index_size_bytes(alias=alias)
        call = (
            ours_search_call(alias=alias, pool=pool, seed=seed)
            if name == OURS
            else tutorial_search_call(alias=alias)
        )
        queries_time(call=call, queries=queries, repeat=repeat, figures=figures)
    return figures


def _bench_article(*, pool: CorpusPool, pk: int, seed: int):
    return BenchArticle(synthetic_doc_make(pool=pool, pk=pk, seed=seed))


def figures_table(*, ours: ConfigFigures | None, tutorial: ConfigFigures | None) -> str:
    rows_spec = [
        ("建索引速度（篇/秒）", lambda f: f.build_rate, "{:.1f}"),
        ("索引大小（MB）", lambda f: f.size_bytes / 1024 / 1024, "{:.1f}"),
        ("查询延迟 p50（毫秒）", lambda f: f.percentile(0.50), "{:.1f}"),
        ("查询延迟 p95（毫秒）", lambda f: f.percentile(0.95), "{:.1f}"),
        ("查询延迟 平均（毫秒）", lambda f: f.mean_ms, "{:.1f}"),
        ("首次查询 p50（毫秒）", lambda f: f.percentile(0.50, first=True), "{:.1f}"),
        ("首次查询 最慢（毫秒）", lambda f: max(f.first_ms, default=0.0), "{:.1f}"),
    ]
    rows = []
    for label, getter, fmt in rows_spec:
        a = getter(ours) if ours else None
        b = getter(tutorial) if tutorial else None
        ratio = f"{a / b:.2f}" if a is not None and b else "-"
        rows.append(
            [label, fmt.format(a) if a is not None else "-", fmt.format(b) if b is not None else "-", ratio]
        )
    return table_render(
        header=["指标", OURS, TUTORIAL, f"{OURS}/{TUTORIAL}"], rows=rows, right=[False, True, True, True]
    )


def hits_table(
    *, queries: list[BenchQuery], ours: ConfigFigures | None, tutorial: ConfigFigures | None
) -> str:
    rows = []
    for number, bench in enumerate(queries):
        rows.append(
            [
                bench.label,
                bench.q,
                str(ours.hits[number]) if ours else "-",
                str(tutorial.hits[number]) if tutorial else "-",
            ]
        )
    return table_render(
        header=["类型", "查询", f"{OURS} 命中", f"{TUTORIAL} 命中"],
        rows=rows,
        right=[False, False, True, True],
    )
