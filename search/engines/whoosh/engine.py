"""The Whoosh engine behind the ``SearchEngine`` contract.

It holds the haystack connection's backend (``ChineseWhooshSearchBackend``: schema,
searcher, writer) and answers a ``QueryPlan``: compiles it into Whoosh queries
(``compile``), matches and scores with numpy on the current generation's
``IndexView``, applies filters as masks and counts facets with ``bincount``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from haystack import connections
from whoosh import index as whoosh_index
from whoosh.index import LockError

from search.engines.contract import EngineHealth, EngineResult, IndexBuildFailed, IndexBusy, QueryPlan
from search.facets import facet_get

from .backend import ChineseWhooshSearchBackend
from .build import BuildInterrupted, index_build
from .compile import plan_filters, plan_query
from .merging import BackgroundMerger, merges_running

# One background merging process per process (``maintain(wait=False)``).
_merger = BackgroundMerger()

OUTDATED_HINT = (
    "索引是旧格式（词位置未按数组存放），短语搜索较慢：运行 python manage.py rebuild_index 重建即可。"
)


class WhooshSearchEngine:
    # One writer at a time holds the index lock: the index queue has a single consumer.
    concurrent_writes = False

    def __init__(self, *, using: str = "default") -> None:
        self.using = using
        backend = connections[using].get_backend()
        if not isinstance(backend, ChineseWhooshSearchBackend):
            raise TypeError(f"haystack connection {using!r} is not the project's Whoosh backend")
        self.backend = backend

    def documents_apply(self, *, objects: Sequence[object], remove_ids: Iterable[str]) -> None:
        index = None
        if objects:
            index = connections[self.using].get_unified_index().get_index(type(objects[0]))
        try:
            self.backend.documents_apply(index=index, objects=objects, remove_ids=remove_ids)
        except LockError as exc:  # Whoosh has one writer; another process holds it
            raise IndexBusy(str(exc) or "Whoosh 索引正被另一个写入者占用") from exc

    def terms_expand(self, *, fieldname: str, needle: str) -> list[str]:
        return self.backend.index_view().terms_containing(fieldname=fieldname, needle=needle)

    def documents_indexed(self) -> dict[int, str]:
        return self.backend.indexed_documents()

    def health(self) -> EngineHealth:
        backend = self.backend
        if not backend.setup_complete:
            backend.setup()
        exists = whoosh_index.exists(backend.storage)
        outdated = bool(getattr(backend, "positions_outdated", False))
        searcher = backend.searcher_get()
        segments = len(searcher.reader().leaf_readers()) if searcher.doc_count_all() else 0
        merging_now = len(merges_running(backend.storage)) if exists else 0
        return EngineHealth(
            exists=exists,
            documents=searcher.doc_count(),
            schema_current=not outdated,
            hint=OUTDATED_HINT if outdated else "",
            detail=f"索引段 {segments} 个" + (f"，{merging_now} 个合并正在进行" if merging_now else ""),
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
        """Index ``queryset`` into an empty index with ``jobs`` processes (``build``); None
        when the index is not empty (the caller indexes batch by batch instead)."""
        if not self.backend.setup_complete:
            self.backend.setup()
        if self.backend.searcher_get().doc_count_all():
            return None
        self.backend.searcher_close()
        try:
            return index_build(
                backend=self.backend,
                index=index,
                queryset=queryset,
                jobs=jobs,
                batch_size=batch_size,
                lock_timeout=float(settings.SEARCH_WRITER_LOCK_SECONDS),
                on_batch=on_batch,
                on_merge=on_merge,
            )
        except LockError as exc:
            raise IndexBusy(str(exc) or "Whoosh 索引正被另一个写入者占用") from exc
        except BuildInterrupted as exc:
            raise IndexBuildFailed(str(exc)) from exc

    def maintain(self, *, wait: bool, jobs: int = 1, on_merge: Callable[[object], None] | None = None) -> int:
        """Merge segments until no tier is full, with ``jobs`` processes when ``wait``.
        ``wait=False`` forks one merging process (unless one runs) and returns at once: the
        index worker keeps indexing meanwhile, since a merge holds the write lock only to
        swap its segment in."""
        backend = self.backend
        if not backend.setup_complete:
            backend.setup()
        if not wait:
            _merger.start(
                backend.index,
                schema=backend.index_schema,
                lock_timeout=float(settings.SEARCH_WRITER_LOCK_SECONDS),
            )
            return 0
        _merger.wait()  # this process's background merge first
        try:
            return backend.merges_settle(jobs=jobs, on_merge=on_merge)
        except LockError as exc:
            raise IndexBusy(str(exc) or "Whoosh 索引正被另一个写入者占用") from exc

    def search(self, plan: QueryPlan) -> EngineResult:
        view = self.backend.index_view()
        if plan.query is None:
            matched, scores = view.live, None
        else:
            q = plan_query(
                plan.query,
                title_only=plan.title_only,
                expand=view.terms_containing,
                span=lambda *, fieldname, needle: view.lexicon(fieldname).spanning(needle),
            )
            if q is None:
                return EngineResult(ids=(), count=0, facets={})
            matched, scores = view.evaluate(q)
            matched = matched & view.live
        filters, base_filter = plan_filters(plan)
        masks = {name: view.evaluate(f, scored=False)[0] for name, f in filters.items()}
        base = view.live if base_filter is None else view.evaluate(base_filter, scored=False)[0]
        allowed = base
        for mask in masks.values():
            allowed = allowed & mask
        final = matched & allowed
        facets: dict[str, dict[str, int]] = {}
        for name in plan.facets:
            fieldname = facet_get(name=name).field
            if fieldname in masks:
                # counted with every other facet's filter, not its own (multi-select)
                scope = matched & base
                for other, mask in masks.items():
                    if other != fieldname:
                        scope = scope & mask
            else:
                scope = final
            facets[name] = view.facet_counts(fieldname=fieldname, mask=scope)
        documents = int(final.sum())
        if plan.collapse:
            final = view.collapse(mask=final, scores=scores, sort=plan.sort)
        docnums = view.top(mask=final, scores=scores, sort=plan.sort, limit=max(plan.limit, 1))
        return EngineResult(
            ids=tuple(view.django_ids(docnums=docnums)),
            count=int(final.sum()),
            facets=facets,
            documents=documents,
        )
