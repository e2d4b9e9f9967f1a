"""Whoosh backend for Chinese text, a thin subclass of haystack's own.

Why Whoosh 2.7.4 and not whoosh-reloaded: 2.7.4 is what django-haystack 3.4 is
tested against and what the project pins; the index format, the ``sorting``
(facet) API and the column types used here are the same in both, and
whoosh-reloaded's changes are mostly packaging and Python-3 clean-ups we do not
need. Staying on the pinned release keeps ``rebuild_index``/``update_index``
behaving exactly as haystack documents; moving to whoosh-reloaded later is a pin
change, not a code change.

What differs from haystack's ``WhooshSearchBackend`` (and only that):

* ``build_schema`` — jieba analyzers for the text fields (``search.analysis``), a
  sub-word field for recall, un-analysed sortable columns for facets (multi-valued
  ones as list columns so author/tag counts are right).
* one long-lived searcher per backend object, refreshed when the index on disk
  has a newer generation (``searcher_get``), instead of a new searcher per query.
* no per-query ``django_ct`` narrowing scan while a single model is indexed.
* one-character queries are not dropped.
* writes use one writer per batch (``procs=1``, larger ``limitmb``) and removal
  by the unique id term.
* ``article_search`` runs a compiled query with filters passed as Whoosh
  ``filter=`` and facets from columns; ``search.selectors`` calls it.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from haystack.backends.whoosh_backend import WhooshEngine, WhooshSearchBackend
from haystack.constants import DJANGO_CT, DJANGO_ID, ID
from haystack.exceptions import SkipDocument
from haystack.utils import get_identifier
from whoosh import columns, formats, query, sorting
from whoosh.fields import DATETIME, STORED, TEXT, FieldType, Schema
from whoosh.fields import ID as WHOOSH_ID

from .analysis import dictionary_refresh, subword_analyzer, word_analyzer

WRITER_LIMIT_MB = 256
WRITER_LOCK_TIMEOUT = 120.0

TEXT_FIELDS = {"text", "title", "source"}
SUBWORD_FIELDS = {"text_sub", "title_sub"}
FACET_FIELDS = {"source_exact", "year", "month"}
LIST_FIELDS = {"author_exact", "tag_exact", "authors", "tags"}
FACET_LIST_FIELDS = {"author_exact", "tag_exact"}


class FacetList(FieldType):
    """Un-analysed multi-valued field: each value one term, all values in a list column."""

    def __init__(self, stored: bool = True) -> None:
        self.format = formats.Existence()
        self.analyzer = None
        self.stored = stored
        self.unique = False
        self.vector = None
        self.scorable = False
        self.column_type = columns.VarBytesListColumn()

    @staticmethod
    def _values(value: object) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value if v]

    def index(self, value, **kwargs):
        for text in sorted(set(self._values(value))):
            yield text.encode("utf-8"), 1, 1.0, b""

    def to_column_value(self, value):
        return [v.encode("utf-8") for v in self._values(value)]

    def from_column_value(self, value):
        return [v.decode("utf-8") for v in value]

    def process_text(self, qstring, mode="", **kwargs):
        yield qstring

    def tokenize(self, value, **kwargs):
        return iter(())


def _facet_id() -> WHOOSH_ID:
    return WHOOSH_ID(stored=True, sortable=True)


@dataclass
class WhooshSearchResult:
    ids: list[int]
    count: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class ChineseWhooshSearchBackend(WhooshSearchBackend):
    def __init__(self, connection_alias, **connection_options):
        super().__init__(connection_alias, **connection_options)
        self._searcher = None
        self._searcher_lock = threading.Lock()

    # --- schema --------------------------------------------------------------------

    def build_schema(self, fields):
        schema_fields = {
            ID: WHOOSH_ID(stored=True, unique=True),
            DJANGO_CT: WHOOSH_ID(stored=True),
            DJANGO_ID: WHOOSH_ID(stored=True),
        }
        content_field_name = ""
        for _, field_class in fields.items():
            name = field_class.index_fieldname
            if name in TEXT_FIELDS or (field_class.document and name not in SUBWORD_FIELDS):
                schema_fields[name] = TEXT(
                    analyzer=word_analyzer(), stored=(name != "text" and field_class.stored), phrase=True
                )
            elif name in SUBWORD_FIELDS:
                schema_fields[name] = TEXT(analyzer=subword_analyzer(), stored=False, phrase=True)
            elif name in FACET_FIELDS:
                schema_fields[name] = _facet_id()
            elif name in LIST_FIELDS:
                schema_fields[name] = FacetList(stored=True)
            elif field_class.field_type in ("date", "datetime"):
                schema_fields[name] = DATETIME(stored=True, sortable=True)
            elif not field_class.indexed:
                schema_fields[name] = STORED()
            else:
                schema_fields[name] = TEXT(analyzer=word_analyzer(), stored=field_class.stored)
            if field_class.document:
                content_field_name = name
        return content_field_name, Schema(**schema_fields)

    def setup(self):
        super().setup()
        self._searcher = None

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
                self._searcher = self._searcher.refresh()
            return self._searcher

    def _searcher_drop(self) -> None:
        with self._searcher_lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None

    # --- writing ---------------------------------------------------------------------

    def _writer(self):
        self.index = self.index.refresh()
        return self.index.writer(procs=1, limitmb=WRITER_LIMIT_MB, timeout=WRITER_LOCK_TIMEOUT)

    def _doc_prepare(self, index, obj) -> dict | None:
        try:
            doc = index.full_prepare(obj)
        except SkipDocument:
            return None
        out = {}
        for key, value in doc.items():
            if key == "boost" or value is None:
                continue
            if key in LIST_FIELDS:
                out[key] = [str(v) for v in value]
            elif isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
                out[key] = datetime.datetime(value.year, value.month, value.day)
            elif isinstance(value, datetime.datetime):
                out[key] = value.replace(tzinfo=None)
            elif isinstance(value, str) and value == "" and key in FACET_FIELDS:
                continue
            else:
                out[key] = self._from_python(value)
        return out

    def update(self, index, iterable, commit=True):
        """Add or replace documents in one writer and one commit."""
        if not self.setup_complete:
            self.setup()
        # Indexing must use the newest words: ask the database on every batch.
        dictionary_refresh(check_now=True)
        docs = [doc for doc in (self._doc_prepare(index, obj) for obj in iterable) if doc]
        if not docs:
            return
        writer = self._writer()
        try:
            for doc in docs:
                writer.update_document(**doc)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def documents_apply(self, *, index, objects: Sequence, remove_ids: Iterable[str]) -> None:
        """Update ``objects`` and delete the ``remove_ids`` identifiers in a single commit."""
        if not self.setup_complete:
            self.setup()
        # Indexing must use the newest words: ask the database on every batch.
        dictionary_refresh(check_now=True)
        docs = [doc for doc in (self._doc_prepare(index, obj) for obj in objects) if doc]
        remove_ids = list(remove_ids)
        if not docs and not remove_ids:
            return
        writer = self._writer()
        try:
            for ident in remove_ids:
                writer.delete_by_term(ID, ident)
            for doc in docs:
                writer.update_document(**doc)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def remove(self, obj_or_string, commit=True):
        if not self.setup_complete:
            self.setup()
        self.documents_apply(index=None, objects=(), remove_ids=[get_identifier(obj_or_string)])

    def clear(self, models=None, commit=True):
        self._searcher_drop()
        super().clear(models=models, commit=commit)

    def delete_index(self):
        self._searcher_drop()
        super().delete_index()

    # --- haystack's search path --------------------------------------------------------

    def build_models_list(self):
        from haystack import connections

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

    # --- direct path used by search.selectors -------------------------------------------

    def indexed_documents(self) -> dict[int, str]:
        """``django_id`` → stored ``updated`` value for every document (for search_check)."""
        searcher = self.searcher_get()
        out: dict[int, str] = {}
        for stored in searcher.reader().all_stored_fields():
            django_id = stored.get(DJANGO_ID)
            if django_id is not None:
                out[int(django_id)] = stored.get("updated", "")
        return out

    def article_search(
        self,
        *,
        q: query.Query | None,
        filters: dict[str, query.Query],
        base_filter: query.Query | None,
        facet_fields: Sequence[str],
        sort: str,
        limit: int,
    ) -> WhooshSearchResult:
        """Run ``q`` with filters applied as Whoosh filters; facets counted on columns.

        ``filters`` maps a facet field to its selection; each facet is counted with
        every filter but its own (multi-select faceting). ``q=None`` matches all.
        """
        searcher = self.searcher_get()
        scoring_query = q if q is not None else query.Every()

        def combined(skip: str | None) -> query.Query | None:
            parts = [f for name, f in filters.items() if name != skip]
            if base_filter is not None:
                parts.append(base_filter)
            if not parts:
                return None
            return parts[0] if len(parts) == 1 else query.And(parts)

        def facet(name: str) -> sorting.FieldFacet:
            return sorting.FieldFacet(name, allow_overlap=name in FACET_LIST_FIELDS, maptype=sorting.Count)

        plain = [name for name in facet_fields if name not in filters]
        sortedby = None
        reverse = False
        if sort in ("newest", "oldest") or q is None:
            sortedby = sorting.FieldFacet("published")
            reverse = sort != "oldest"
        results = searcher.search(
            scoring_query,
            limit=max(limit, 1),
            filter=combined(None),
            sortedby=sortedby,
            reverse=reverse,
            groupedby=[facet(name) for name in plain] or None,
        )
        ids = [int(hit[DJANGO_ID]) for hit in results[:limit]]
        count = len(results)
        facets = {name: _groups(results, name) for name in plain}
        for name in facet_fields:
            if name in filters:
                other = searcher.search(
                    scoring_query, limit=1, filter=combined(name), scored=False, groupedby=[facet(name)]
                )
                facets[name] = _groups(other, name)
        return WhooshSearchResult(ids=ids, count=count, facets=facets)


def _groups(results, name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, value in results.groups(name).items():
        if key is None:
            continue
        if isinstance(key, bytes):
            key = key.decode("utf-8")
        if key == "":
            continue
        out[str(key)] = value
    return out


class ChineseWhooshEngine(WhooshEngine):
    backend = ChineseWhooshSearchBackend
