"""Writes to the search index, through the engine (``search.engines``)."""

from __future__ import annotations

from haystack import connections
from haystack.utils import get_identifier

from articles.models import Article

from .engines import engine_get

# Articles per writer commit when reindexing many rows.
BATCH_SIZE = 500


def articles_index_sync(*, ids: list[int], batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Update published articles among ``ids`` and remove every other id, one commit per batch.

    Raises ``search.engines.contract.IndexBusy`` when the index cannot be written now; the
    batches before it are written.
    """
    # The index definition says which rows are indexed and with what they are loaded.
    index = connections["default"].get_unified_index().get_index(Article)
    engine = engine_get()
    updated = removed = 0
    batch_size = max(batch_size, 1)
    for i in range(0, len(ids), batch_size):
        chunk = ids[i : i + batch_size]
        rows = list(index.index_queryset().filter(pk__in=chunk))
        found = {a.pk for a in rows}
        gone = [get_identifier(f"articles.article.{pk}") for pk in chunk if pk not in found]
        engine.documents_apply(objects=rows, remove_ids=gone)
        index.prepared_store()  # (on engines that did not already)
        updated += len(rows)
        removed += len(gone)
    return {"updated": updated, "removed": removed}
