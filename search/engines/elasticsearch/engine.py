"""The Elasticsearch engine behind the ``SearchEngine`` contract.

It holds the haystack connection's backend (``ChineseElasticsearchSearchBackend``: client,
index, mapping, writes) and answers a ``QueryPlan`` in two requests at most: the word-list
lookups the query needs (``lexicon``, skipped when answered in the last seconds), then one
``msearch`` of the hits and the counts (``compile`` for the query, ``request`` for filters,
facets, sort and collapse).
A node that cannot be reached raises ``EngineUnavailable`` (``IndexBusy`` when writing).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence

import elasticsearch
from haystack import connections

from search.engines.contract import EngineHealth, EngineResult, EngineUnavailable, QueryPlan

from .backend import ChineseElasticsearchSearchBackend
from .compile import Dsl, PlanCompiler
from .request import counts_body, hits_body, result_read

OUTDATED_HINT = (
    "Elasticsearch 索引的映射与当前代码不同（例如由 haystack 默认设置建立）："
    "运行 python manage.py rebuild_index 重建即可。"
)
MISSING_HINT = "Elasticsearch 中还没有这个索引：运行 python manage.py rebuild_index 建立。"
# Seconds ``health`` (search_check, the start-up check) waits for the node.
HEALTH_TIMEOUT = 3
UNREACHABLE_HINT = (
    "Elasticsearch 无法连接（{url}）：启动它（bash scripts/elasticsearch.sh），或检查 ELASTICSEARCH_URL。"
)


class ElasticsearchSearchEngine:
    # Bulk writes from several index workers at once are fine (each a whole document).
    concurrent_writes = True

    def __init__(self, *, using: str = "default") -> None:
        self.using = using
        backend = connections[using].get_backend()
        if not isinstance(backend, ChineseElasticsearchSearchBackend):
            raise TypeError(f"haystack connection {using!r} is not the project's Elasticsearch backend")
        self.backend = backend

    def documents_apply(self, *, objects: Sequence[object], remove_ids: Iterable[str]) -> None:
        index = None
        if objects:
            index = connections[self.using].get_unified_index().get_index(type(objects[0]))
        self.backend.documents_apply(index=index, objects=objects, remove_ids=remove_ids)

    def terms_expand(self, *, fieldname: str, needle: str) -> list[str]:
        with self._answering():
            return list(self.backend.lexicon.containing(fieldname=fieldname, needle=needle))

    def documents_indexed(self) -> dict[int, str]:
        with self._answering():
            return self.backend.indexed_documents()

    def health(self) -> EngineHealth:
        backend = self.backend
        try:
            if not backend.conn.indices.exists(index=backend.index_name, request_timeout=HEALTH_TIMEOUT):
                return EngineHealth(exists=False, documents=0, hint=MISSING_HINT)
            if not backend.setup_complete:
                backend.setup()
            documents = backend.document_count()
        except elasticsearch.ConnectionError:
            return EngineHealth(
                exists=False, documents=0, hint=UNREACHABLE_HINT.format(url=backend.conn_url())
            )
        outdated = backend.mapping_outdated
        return EngineHealth(
            exists=True,
            documents=documents,
            schema_current=not outdated,
            hint=OUTDATED_HINT if outdated else "",
        )

    def clear(self) -> None:
        self.backend.clear()

    def documents_build(
        self,
        *,
        index: object,
        queryset: object,
        jobs: int,
        batch_size: int,
        on_batch: Callable[[int], None],
        on_merge: Callable[[object], None] | None = None,
    ) -> int | None:
        # Elasticsearch takes concurrent bulk writes: update_index's batches are the build.
        return None

    def maintain(self, *, wait: bool, jobs: int = 1, on_merge: Callable[[object], None] | None = None) -> int:
        # Elasticsearch merges its own segments in the background (tiered policy).
        return 0

    def search(self, plan: QueryPlan) -> EngineResult:
        with self._answering():
            try:
                return self._search(plan)
            except elasticsearch.NotFoundError:
                # The index was deleted under us (rebuild_index or clear_index in another
                # process): it is made again, empty, and filled by whoever rebuilds it.
                self.backend.setup_complete = False
                self.backend.lexicon.clear()
                return self._search(plan)

    def _search(self, plan: QueryPlan) -> EngineResult:
        backend = self.backend
        if not backend.setup_complete:
            backend.setup()
        query: Dsl | None = None
        if plan.query is not None:
            query = self._query(plan)
            if query is None:
                return EngineResult(ids=(), count=0, facets={})
        hits, counts = backend.searches_main([hits_body(plan, query=query), counts_body(plan, query=query)])
        return result_read(plan, hits=hits, counts=counts)

    def _query(self, plan: QueryPlan) -> Dsl | None:
        """Compile twice: once to learn every word-list lookup the query needs (asked in one
        request), once with the answers."""
        lexicon = self.backend.lexicon
        expansions: set[tuple[str, str]] = set()
        spans: set[tuple[str, str]] = set()

        def expand_noted(*, fieldname: str, needle: str) -> list[str]:
            expansions.add((fieldname, needle))
            return ["\0"]  # something, so every branch that depends on it is walked

        def span_noted(*, fieldname: str, needle: str) -> list[list[list[str]]]:
            spans.add((fieldname, needle))
            return []

        assert plan.query is not None
        PlanCompiler(title_only=plan.title_only, expand=expand_noted, span=span_noted).node(plan.query)
        lexicon.prefetch(expansions=sorted(expansions), spans=sorted(spans))
        return PlanCompiler(
            title_only=plan.title_only, expand=lexicon.containing, span=lexicon.spanning
        ).node(plan.query)

    def _answering(self):
        return _unavailable_on_failure(url=self.backend.conn_url())


@contextlib.contextmanager
def _unavailable_on_failure(*, url: str) -> Iterator[None]:
    """Connection failures and server-side refusals as ``EngineUnavailable``; a 4xx that is
    our own mistake (a malformed query) stays what it is."""
    try:
        yield
    except elasticsearch.ConnectionError as exc:
        raise EngineUnavailable(UNREACHABLE_HINT.format(url=url)) from exc
    except elasticsearch.TransportError as exc:
        status = exc.status_code
        if not isinstance(status, int) or status >= 500 or status == 429:
            raise EngineUnavailable(f"Elasticsearch 暂时无法回答（{status}）") from exc
        raise
