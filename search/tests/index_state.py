"""What the search index holds, read the way the tests about keeping it in step need."""

from __future__ import annotations

from haystack import connections


def indexed_ids() -> set[int]:
    return set(connections["default"].get_backend().indexed_documents())


def index_generation() -> int:
    """Whoosh writes a new table of contents, one generation up, on every commit."""
    backend = connections["default"].get_backend()
    if not backend.setup_complete:
        backend.setup()
    return backend.index.latest_generation()
