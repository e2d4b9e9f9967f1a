"""Build each configuration, time the query mix on it, and tabulate the figures.

Each configuration is built and queried in a child process of its own (forked), so its
peak memory is its own and not the leftovers of the one before.
"""

from __future__ import annotations

import contextlib
import datetime
import multiprocessing
import resource
import statistics
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections as db_connections
from haystack import connections
from haystack.query import SearchQuerySet
from tqdm import tqdm

from search.engines import engine_get
from search.evaluation.report import table_render

from . import webprobe
from .calls import FIRST_PAGE, ours_search_call
from .configs import (
    ELASTICSEARCH,
    PROJECT_ENGINES,
    TUTORIAL,
    bench_connection,
    connection_search_index,
    elasticsearch_node_memory,
    index_size_bytes,
)
from .corpus import BenchArticle, CorpusPool, synthetic_doc_make


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
    # The longest single batch write (a commit that also merged segments, say).
    slowest_batch_seconds: float = 0.0
    # Peak resident memory of the process that built and queried so far (bytes).
    peak_rss: int = 0
    # Elasticsearch only: the server process's resident memory and JVM heap in use after.
    server_rss: int = 0
    server_heap: int = 0
    # A fresh web process (``webprobe``): its warm-up, the first run of each query after it,
    # its memory after the mix, and the first run of each query after a commit elsewhere.
    web_warm_ms: float = 0.0
    web_first_ms: list[float] = field(default_factory=list)
    web_mix_ms: list[float] = field(default_factory=list)
    web_after_commit_ms: list[float] = field(default_factory=list)
    web_rss: int = 0
    web_anonymous: int = 0

    @property
    def build_rate(self) -> float:
        return self.docs / self.build_seconds if self.build_seconds else 0.0

    def percentile(self, fraction: float, *, first: bool = False) -> float:
        return _percentile(self.first_ms if first else self.latencies_ms, fraction)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies_ms) if self.latencies_ms else 0.0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


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
    docs: list[int],
    seed: int,
    queries: list[BenchQuery],
    repeat: int,
    progress: bool = True,
) -> list[ConfigFigures]:
    """Build ``name`` up to each size of ``docs`` in turn (one growing index) and time the
    queries at each, in a forked child process; the figures come back by pipe."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_measure_child,
        kwargs={
            "send": send,
            "name": name,
            "pool": pool,
            "docs": sorted(set(docs)),
            "seed": seed,
            "queries": queries,
            "repeat": repeat,
            "progress": progress,
        },
    )
    child.start()
    send.close()
    try:
        outcome = receive.recv()
    except EOFError:
        outcome = RuntimeError(f"{name}: the measuring process ended without figures")
    child.join()
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def _measure_child(*, send, name: str, **options) -> None:
    _database_connections_forget()
    try:
        _peak_reset()
        send.send(_measure(name=name, **options))
    except BaseException as exc:  # reported in the parent, with the child's traceback
        send.send(RuntimeError(f"{name}: {exc}\n{traceback.format_exc()}"))
    finally:
        send.close()


def _measure(
    *,
    name: str,
    pool: CorpusPool,
    docs: list[int],
    seed: int,
    queries: list[BenchQuery],
    repeat: int,
    progress: bool,
) -> list[ConfigFigures]:
    out: list[ConfigFigures] = []
    built = 0
    build_seconds = slowest = 0.0
    batch_size = 1000
    with bench_connection(name=name) as alias:
        backend = connections[alias].get_backend()
        backend.setup()
        index = connection_search_index(alias=alias)
        call = (
            ours_search_call(alias=alias, pool=pool, seed=seed)
            if name in PROJECT_ENGINES
            else tutorial_search_call(alias=alias)
        )
        engine = engine_get(using=alias) if name in PROJECT_ENGINES else None
        bar = tqdm(total=docs[-1], desc=f"建索引 {name}", unit="篇", disable=not progress, leave=False)
        for size in docs:
            for start in range(built + 1, size + 1, batch_size):
                batch = [
                    _bench_article(pool=pool, pk=pk, seed=seed)
                    for pk in range(start, min(start + batch_size, size + 1))
                ]
                started = time.perf_counter()
                # each batch is searchable when ``update`` returns (Whoosh commits, ES refreshes)
                backend.update(index, batch)
                if engine is not None:
                    # as the index worker does: merges run in a thread, beside the next batches
                    engine.maintain(wait=False)
                took = time.perf_counter() - started
                build_seconds += took
                slowest = max(slowest, took)
                bar.update(len(batch))
            if engine is not None:
                # queries are timed on a settled index; the wait counts as build time
                started = time.perf_counter()
                engine.maintain(wait=True)
                build_seconds += time.perf_counter() - started
            built = size
            figures = ConfigFigures(
                name=name, docs=size, build_seconds=build_seconds, slowest_batch_seconds=slowest
            )
            figures.size_bytes = index_size_bytes(alias=alias)
            queries_time(call=call, queries=queries, repeat=repeat, figures=figures)
            if name == ELASTICSEARCH:
                figures.server_rss, figures.server_heap = elasticsearch_node_memory(alias=alias)
            figures.peak_rss = _peak_rss()
            if engine is not None:
                _web_probe(
                    alias=alias,
                    commit=lambda: backend.update(
                        index, [_bench_article(pool=pool, pk=pk, seed=seed) for pk in (1, 2, 3)]
                    ),
                    pool=pool,
                    queries=queries,
                    seed=seed,
                    repeat=repeat,
                    figures=figures,
                )
            out.append(figures)
        bar.close()
    return out


def _web_probe(
    *,
    alias: str,
    commit: Callable[[], None],
    pool: CorpusPool,
    queries: list[BenchQuery],
    seed: int,
    repeat: int,
    figures: ConfigFigures,
) -> None:
    """Time a fresh web process on the index as it stands, then after ``commit`` (see
    ``webprobe``). Spawned, not forked: a fork would inherit this process's warm caches."""
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    child = context.Process(
        target=webprobe.probe_main,
        args=(
            there,
            alias,
            dict(settings.HAYSTACK_CONNECTIONS[alias]),
            db_connections["default"].settings_dict["NAME"],
        ),
    )
    child.start()
    there.close()
    try:
        here.send((pool, queries, seed, repeat))
        before = here.recv()
        commit()  # three articles written again: a small commit, as the index worker makes
        here.send("committed")
        after = here.recv()
    except EOFError as exc:
        raise RuntimeError("the web-process probe ended without figures") from exc
    finally:
        child.join()
    figures.web_warm_ms = before["warm_ms"]
    figures.web_first_ms = before["first_ms"]
    figures.web_mix_ms = before["mix_ms"]
    figures.web_rss = before["rss"]
    figures.web_anonymous = before["anonymous"]
    figures.web_after_commit_ms = after["after_commit_ms"]


def _database_connections_forget() -> None:
    """A forked child opens its own database connections: a network connection shared with
    the parent (PostgreSQL over TLS) breaks for both once either uses it. The parent's are
    abandoned here, not closed, which would end them for the parent too. SQLite's handle
    stays: a file (or the tests' in-memory database) that only this child reads meanwhile."""
    for alias in db_connections:
        db = db_connections[alias]
        if db.vendor != "sqlite":
            db.connection = None


def _peak_reset() -> None:
    """Start this process's peak-memory count from its present size (Linux: clear_refs 5)."""
    with contextlib.suppress(OSError):
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")


def _peak_rss() -> int:
    """This process's peak resident memory in bytes (VmHWM; ru_maxrss where /proc is missing)."""
    with contextlib.suppress(OSError, StopIteration, ValueError):
        with open("/proc/self/status") as handle:
            line = next(line for line in handle if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _bench_article(*, pool: CorpusPool, pk: int, seed: int):
    return BenchArticle(synthetic_doc_make(pool=pool, pk=pk, seed=seed))


def figures_table(*, figures: dict[str, ConfigFigures]) -> str:
    """One column per configuration, then each project engine's figure over the tutorial's."""
    mb = 1024 * 1024
    rows_spec = [
        ("建索引速度（篇/秒）", lambda f: f.build_rate, "{:.1f}"),
        ("最长一批写入（秒）", lambda f: f.slowest_batch_seconds, "{:.1f}"),
        ("索引大小（MB）", lambda f: f.size_bytes / mb, "{:.1f}"),
        ("查询延迟 p50（毫秒）", lambda f: f.percentile(0.50), "{:.1f}"),
        ("查询延迟 p95（毫秒）", lambda f: f.percentile(0.95), "{:.1f}"),
        ("查询延迟 平均（毫秒）", lambda f: f.mean_ms, "{:.1f}"),
        ("首次查询 p50（毫秒）", lambda f: f.percentile(0.50, first=True), "{:.1f}"),
        ("首次查询 最慢（毫秒）", lambda f: max(f.first_ms, default=0.0), "{:.1f}"),
        ("进程峰值内存（MB）", lambda f: f.peak_rss / mb, "{:.0f}"),
        ("新 web 进程 预热（毫秒）", lambda f: f.web_warm_ms or None, "{:.0f}"),
        (
            "新 web 进程 首次查询 p50（毫秒）",
            lambda f: _percentile(f.web_first_ms, 0.5) if f.web_first_ms else None,
            "{:.1f}",
        ),
        (
            "新 web 进程 查询 p95（毫秒）",
            lambda f: _percentile(f.web_mix_ms, 0.95) if f.web_mix_ms else None,
            "{:.1f}",
        ),
        (
            "提交后首次查询 p50（毫秒）",
            lambda f: _percentile(f.web_after_commit_ms, 0.5) if f.web_after_commit_ms else None,
            "{:.1f}",
        ),
        ("新 web 进程 内存 RSS（MB）", lambda f: f.web_rss / mb if f.web_rss else None, "{:.0f}"),
        ("新 web 进程 私有内存（MB）", lambda f: f.web_anonymous / mb if f.web_anonymous else None, "{:.0f}"),
        ("ES 节点内存 RSS（MB）", lambda f: f.server_rss / mb if f.server_rss else None, "{:.0f}"),
        ("ES 堆内存已用（MB）", lambda f: f.server_heap / mb if f.server_heap else None, "{:.0f}"),
    ]
    names = list(figures)
    ratios = [n for n in names if n != TUTORIAL] if TUTORIAL in figures else []
    rows = []
    for label, getter, fmt in rows_spec:
        values = {n: getter(figures[n]) for n in names}
        if all(v is None for v in values.values()):
            continue
        row = [label] + [fmt.format(v) if v is not None else "-" for v in values.values()]
        base = values.get(TUTORIAL)
        for n in ratios:
            row.append(f"{values[n] / base:.2f}" if values[n] is not None and base else "-")
        rows.append(row)
    header = ["指标", *names, *(f"{n}/{TUTORIAL}" for n in ratios)]
    return table_render(header=header, rows=rows, right=[False] + [True] * (len(header) - 1))


def hits_table(*, queries: list[BenchQuery], figures: dict[str, ConfigFigures]) -> str:
    """Hits and median time of each query per configuration."""
    names = list(figures)
    rows = []
    for number, bench in enumerate(queries):
        row = [bench.label, bench.q]
        for n in names:
            times = figures[n].latencies_ms[number :: len(queries)]
            row.append(f"{figures[n].hits[number]} / {statistics.median(times):.1f}")
        rows.append(row)
    return table_render(
        header=["类型", "查询", *(f"{n} 命中/毫秒" for n in names)],
        rows=rows,
        right=[False, False] + [True] * len(names),
    )


def curve_table(*, curves: dict[str, list[ConfigFigures]]) -> str:
    """How the cost grows with the archive: one row per size and configuration."""
    mb = 1024 * 1024
    rows = []
    for name, points in curves.items():
        for f in points:
            rows.append(
                [
                    name,
                    str(f.docs),
                    f"{f.build_rate:.1f}",
                    f"{f.slowest_batch_seconds:.1f}",
                    f"{f.size_bytes / mb:.1f}",
                    f"{f.percentile(0.50):.1f}",
                    f"{f.percentile(0.95):.1f}",
                    f"{f.percentile(0.50, first=True):.1f}",
                    f"{f.peak_rss / mb:.0f}",
                    f"{_percentile(f.web_first_ms, 0.5):.1f}" if f.web_first_ms else "-",
                    f"{_percentile(f.web_after_commit_ms, 0.5):.1f}" if f.web_after_commit_ms else "-",
                    f"{f.web_rss / mb:.0f} / {f.web_anonymous / mb:.0f}" if f.web_rss else "-",
                ]
            )
    header = [
        "配置",
        "文章数",
        "建索引（篇/秒，累计）",
        "最长一批（秒）",
        "索引（MB）",
        "p50（毫秒）",
        "p95（毫秒）",
        "首次 p50（毫秒）",
        "峰值内存（MB）",
        "新 web 进程首次 p50",
        "提交后首次 p50",
        "web RSS / 私有（MB）",
    ]
    return table_render(header=header, rows=rows, right=[False] + [True] * (len(header) - 1))
