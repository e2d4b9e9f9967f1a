"""haystack's Whoosh backend for Chinese text, a thin subclass of haystack's own.

What differs from haystack's ``WhooshSearchBackend`` (and only that):

* ``build_schema`` — ``schema.schema_build``: jieba word fields, positions as arrays,
  facets as sortable columns.
* one long-lived searcher per backend object (``searcher_get``), renewed after a commit
  by reusing the readers of unchanged segments (``searcher``). Arrays read from segments
  (``caches.SegmentArrays``) outlive commits; ``view.IndexView`` holds what belongs to
  one generation.
* no per-query ``django_ct`` narrowing scan while a single model is indexed.
* one-character queries are not dropped (haystack's own search path, used by
  ``rebuild_index`` tooling only; the site searches through ``engine.WhooshEngine``).
* writes use one writer per batch (``writing.writer_open``) and removal by the unique id
  term, found through the long-lived searcher; big merges run beside it (``merges_settle``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from django.conf import settings
from haystack import connections
from haystack.backends.whoosh_backend import WhooshEngine, WhooshSearchBackend
from haystack.constants import DJANGO_ID
from haystack.utils import get_identifier
from whoosh import index as whoosh_index
from whoosh.fields import Schema

from zhtext.analysis import dictionary_refresh

from . import _internals, merging
from .caches import segment_arrays
from .schema import positions_outdated, schema_build
from .searcher import newest_read, readers_close, searcher_renew
from .view import IndexView
from .writing import document_prepare, documents_write, searcher_matching, writer_open

# Every process reading the index shares its pages through the page cache.
_internals.segment_files_share()


class ChineseWhooshSearchBackend(WhooshSearchBackend):
    def __init__(self, connection_alias, **connection_options):
        super().__init__(connection_alias, **connection_options)
        self._searcher = None
        self._view: IndexView | None = None
        self._store = segment_arrays()
        self._retired: list = []  # readers of replaced segments, closed at the next renewal
        self._searcher_lock = threading.Lock()

    # --- schema --------------------------------------------------------------------

    def build_schema(self, fields):
        return schema_build(fields=fields)

    def setup(self):
        # (both open the newest table of contents, which a commit may delete meanwhile)
        newest_read(super().setup)
        self._searcher = None
        # haystack opens the index with the schema built from today's code, ignoring the
        # one stored with it. An index written before positions were stored as arrays
        # must keep being read and written in its own format until it is rebuilt.
        stored = newest_read(self._stored_schema)
        self.positions_outdated = stored is not None and positions_outdated(stored)
        # the schema the index's files are read and written with
        self.index_schema = stored if self.positions_outdated else self.schema
        if self.positions_outdated:
            self.index = newest_read(lambda: self.storage.open_index(schema=stored))

    def _stored_schema(self) -> Schema | None:
        try:
            return self.storage.open_index().schema
        except whoosh_index.EmptyIndexError:
            return None

    # --- searcher --------------------------------------------------------------------

    def searcher_get(self):
        """The long-lived searcher, refreshed when another writer committed."""
        if not self.setup_complete:
            self.setup()
        with self._searcher_lock:
            if self._searcher is None:
                self.index = self.index.refresh()
                self._searcher = self.index.searcher()
            elif not self._searcher.up_to_date():
                self.index = self.index.refresh()
                self._searcher, retiring = searcher_renew(
                    self._searcher, index=self.index, schema=self.index_schema, retired=self._retired
                )
                self._retired = retiring
            return self._searcher

    def searcher_close(self) -> None:
        with self._searcher_lock:
            if self._searcher is not None:
                self._searcher.close()
            readers_close(self._retired)
            self._retired = []
            self._searcher = None
            self._view = None
            # a cleared or deleted index: nothing read from its segments is needed again
            self._store = segment_arrays()

    def index_view(self) -> IndexView:
        """Per-generation arrays over the current searcher (built once per commit)."""
        searcher = self.searcher_get()
        view = self._view
        if view is None or view.searcher is not searcher:
            view = IndexView(searcher, store=self._store)
            self._store.retain({segid for _leaf, _offset, segid in view.leaves if segid is not None})
            self._view = view
        return view

    def indexed_documents(self) -> dict[int, str]:
        """``django_id`` → stored ``updated`` value for every document (for search_check)."""
        searcher = self.searcher_get()
        out: dict[int, str] = {}
        for stored in searcher.reader().all_stored_fields():
            django_id = stored.get(DJANGO_ID)
            if django_id is not None:
                out[int(django_id)] = stored.get("updated", "")
        return out

    # --- writing ---------------------------------------------------------------------

    def _writer(self):
        self.index = self.index.refresh()
        return writer_open(self.index, timeout=float(settings.SEARCH_WRITER_LOCK_SECONDS))

    def merges_settle(self, *, jobs: int = 1, on_merge=None) -> int:
        """Merge segments until no tier is full (``merging``); returns how many merges ran."""
        if not self.setup_complete:
            self.setup()
        return merging.merges_settle(
            self.index,
            schema=self.index_schema,
            lock_timeout=float(settings.SEARCH_WRITER_LOCK_SECONDS),
            jobs=jobs,
            on_merge=on_merge,
        )

    def _docs_prepare(self, index, objects: Iterable) -> list[dict]:
        # Indexing must use the newest words: ask the database on every batch.
        dictionary_refresh(check_now=True)
        docs = (document_prepare(index=index, obj=obj, from_python=self._from_python) for obj in objects)
        prepared = [doc for doc in docs if doc]
        # (an index may keep what preparing computed: the project's stores re-segmented terms)
        if hasattr(index, "prepared_store"):
            index.prepared_store()
        return prepared

    def update(self, index, iterable, commit=True):
        """Add or replace documents in one writer and one commit."""
        if not self.setup_complete:
            self.setup()
        docs = self._docs_prepare(index, iterable)
        if docs:
            self._documents_write(docs=docs, remove_ids=[])

    def documents_apply(self, *, index, objects: Sequence, remove_ids: Iterable[str]) -> None:
        """Update ``objects`` and delete the ``remove_ids`` identifiers in a single commit."""
        if not self.setup_complete:
            self.setup()
        docs = self._docs_prepare(index, objects)
        remove_ids = list(remove_ids)
        if docs or remove_ids:
            self._documents_write(docs=docs, remove_ids=remove_ids)

    def _documents_write(self, *, docs: list[dict], remove_ids: list[str]) -> None:
        documents_write(
            writer=self._writer(),
            searcher_for=lambda writer: searcher_matching(searcher=self.searcher_get(), writer=writer),
            docs=docs,
            remove_ids=remove_ids,
        )

    def remove(self, obj_or_string, commit=True):
        if not self.setup_complete:
            self.setup()
        self.documents_apply(index=None, objects=(), remove_ids=[get_identifier(obj_or_string)])

    def clear(self, models=None, commit=True):
        self.searcher_close()
        super().clear(models=models, commit=commit)

    def delete_index(self):
        self.searcher_close()
        super().delete_index()

    # --- haystack's search path --------------------------------------------------------

    def build_models_list(self):
        # With one indexed model every document is of that model: narrowing by
        # django_ct would only add a scan over the whole index to each query.
        if len(connections[self.connection_alias].get_unified_index().get_indexed_models()) <= 1:
            return []
        return super().build_models_list()

    def search(self, query_string, **kwargs):
        # haystack drops one-character queries; a single Chinese character is a real query.
        if query_string and len(query_string) == 1 and query_string != "*":
            query_string = f"({query_string})"
        return super().search(query_string, **kwargs)


class ChineseWhooshEngine(WhooshEngine):
    backend = ChineseWhooshSearchBackend
