"""The judged query set and running it against the search the product uses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import yaml

from articles.models import IngestItem

from .metrics import EVERYDAY, QueryOutcome, recall_at_k, reciprocal_rank

JUDGED_QUERIES_PATH = Path(__file__).resolve().parent / "judged_queries.yaml"
HARD_KINDS = frozenset(
    {"cve", "traditional", "fullwidth", "subword", "abbreviation", "phrase", "single_char"}
)
KINDS = frozenset({EVERYDAY}) | HARD_KINDS

# Ranked article ids for one query string, best first.
SearchFunction = Callable[[str, int], Sequence[int]]


@dataclass(frozen=True)
class JudgedQuery:
    query: str
    kind: str
    expected: tuple[str, ...]
    note: str = ""


class JudgedSetError(ValueError):
    pass


def judged_queries_load(*, path: Path | None = None) -> list[JudgedQuery]:
    """Read and check a judged set (YAML or JSON, both parse as YAML)."""
    source = path or JUDGED_QUERIES_PATH
    data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
    rows = data.get("queries") if isinstance(data, dict) else data
    if not isinstance(rows, list) or not rows:
        raise JudgedSetError(f"{source}: 没有找到查询列表")
    queries: list[JudgedQuery] = []
    for number, row in enumerate(rows, start=1):
        query = str(row.get("query", "")).strip()
        kind = str(row.get("kind", "")).strip()
        expected = tuple(str(name).strip() for name in row.get("expected") or ())
        if not query:
            raise JudgedSetError(f"{source}: 第 {number} 条查询为空")
        if kind not in KINDS:
            raise JudgedSetError(f"{source}: 第 {number} 条查询的类型 {kind!r} 无效")
        if not expected:
            raise JudgedSetError(f"{source}: 查询 {query!r} 没有期望结果")
        queries.append(JudgedQuery(query=query, kind=kind, expected=expected, note=str(row.get("note", ""))))
    return queries


def file_articles_map(*, names: Iterable[str] | None = None) -> dict[str, int]:
    """Corpus file name → article id, from the ingest records; the latest run wins."""
    wanted = set(names) if names is not None else None
    mapping: dict[str, int] = {}
    rows = (
        IngestItem.objects.filter(article__isnull=False)
        .order_by("run__created_at", "run_id", "id")
        .values_list("path", "article_id")
    )
    for path, article_id in rows.iterator():
        name = PurePath(path).name
        if wanted is None or name in wanted:
            mapping[name] = article_id
    return mapping


def judged_query_evaluate(
    *, judged: JudgedQuery, file_map: dict[str, int], ranked: Sequence[int], k: int
) -> QueryOutcome:
    absent = tuple(name for name in judged.expected if name not in file_map)
    # Duplicate files may be one article after de-duplication; count each article once.
    relevant = {file_map[name] for name in judged.expected if name in file_map}
    # Files never ingested still count as relevant: an empty index must not look perfect.
    relevant_keys: set[object] = set(relevant) | {("absent", name) for name in absent}
    top = list(ranked[:k])
    missed = (
        tuple(name for name in judged.expected if name in file_map and file_map[name] not in top) + absent
    )
    return QueryOutcome(
        query=judged.query,
        kind=judged.kind,
        recall=recall_at_k(ranked=top, relevant=relevant_keys, k=k),
        rr=reciprocal_rank(ranked=list(ranked), relevant=relevant_keys),
        missed=missed,
        absent=absent,
        hits=len(top),
    )


def judged_set_evaluate(
    *, queries: Sequence[JudgedQuery], file_map: dict[str, int], search: SearchFunction, k: int = 10
) -> list[QueryOutcome]:
    return [
        judged_query_evaluate(judged=judged, file_map=file_map, ranked=search(judged.query, k), k=k)
        for judged in queries
    ]
