"""Writes to the search index."""

from __future__ import annotations

from haystack import connections
from haystack.utils import get_identifier

from articles.models import Article

# Articles per writer commit when reindexing many rows.
BATCH_SIZE = 500


def _article_index():
    return connections["default"].get_unified_index().get_index(Article)


def _backend():
    return connections["default"].get_backend()


def articles_index_sync(*, ids: list[int], batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Update published articles among ``ids`` and remove every other id, one commit per batch."""
    index = _article_index()
    backend = _backend()
    updated = removed = 0
    batch_size = max(batch_size, 1)
    for i in range(0, len(ids), batch_size):
        chunk = ids[i : i + batch_size]
        rows = list(index.index_queryset().filter(pk__in=chunk))
        found = {a.pk for a in rows}
        gone = [get_identifier(f"articles.article.{pk}") for pk in chunk if pk not in found]
        if hasattr(backend, "documents_apply"):
            backend.documents_apply(index=index, objects=rows, remove_ids=gone)
        else:
            if rows:
                backend.update(index, rows)
            for ident in gone:
                backend.remove(ident)
        updated += len(rows)
        removed += len(gone)
    return {"updated": updated, "removed": removed}
