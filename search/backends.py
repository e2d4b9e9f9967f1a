"""Whoosh backend for Chinese text, a thin subclass of haystack's own.

Why Whoosh 2.7.4 and not whoosh-reloaded: 2.7.4 is what django-haystack 3.4 is
tested against and what the project pins; the index format, the ``sorting``
(facet) API and the column types used here are the same in both, and
whoosh-reloaded's changes are mostly packaging and Python-3 clean-ups we do not
need. Staying on the pinned release keeps ``rebuild_index``/``update_index``
behaving exactly as haystack documents.

What differs from haystack's ``WhooshSearchBackend`` (and only that):

* ``build_schema`` — jieba word fields whose postings are built straight from
  ``zhtext.analysis.text_terms`` (no per-token objects) with positions stored as
  uint32 arrays (``PositionArray``), nothing large stored, un-analysed sortable
  columns for facets (multi-valued ones as list columns). There is no
  character/pair field: parts of words (税, 心理 → 心理健康) are expanded at query
  time against the index's own term list.
* one long-lived searcher per backend object (``searcher_get``), renewed after a
  commit by reusing the readers of unchanged segments: 2.7.4's ``Searcher.refresh``
  reopens every segment. Arrays read from segments (``SegmentArrays``) outlive
  commits; ``IndexView`` holds what belongs to one generation.
* no per-query ``django_ct`` narrowing scan while a single model is indexed.
* one-character queries are not dropped.
* writes use one writer per batch (``procs=1``, larger ``limitmb``) and removal
  by the unique id term, found through the long-lived searcher.
* ``article_search`` matches and scores (BM25) whole posting blocks with numpy,
  applies filters as masks and counts facets with ``bincount``; phrases look up
  occurrence keys by binary search. ``search.selectors`` calls it.

The block-level reads use the W3 codec's posting-reader internals (``_read_ids``,
``_read_values``) with a per-document fallback, so a Whoosh fork that changes
them still answers, only slower; ``search/tests`` would show the difference.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import itertools
import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from haystack.backends.whoosh_backend import WhooshEngine, WhooshSearchBackend
from haystack.constants import DJANGO_CT, DJANGO_ID, ID
from haystack.exceptions import SkipDocument
from haystack.utils import get_identifier
from whoosh import columns, formats, query
from whoosh import index as whoosh_index
from whoosh.fields import DATETIME, NUMERIC, STORED, TEXT, FieldType, Schema
from whoosh.fields import ID as WHOOSH_ID
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

from zhtext.analysis import TermLexicon, dictionary_refresh, text_terms, word_analyzer

WRITER_LIMIT_MB = 256

TEXT_FIELDS = {"text", "title", "source"}
# Terms a sub-word query may expand to; beyond that the most frequent terms are kept.
EXPANSION_LIMIT = 1000
FACET_FIELDS = {"source_exact", "year", "month"}
LIST_FIELDS = {"author_exact", "tag_exact", "authors", "tags", "policy"}
FACET_LIST_FIELDS = {"author_exact", "tag_exact", "policy"}
# Arrays read from segments (postings, positions, lengths, facets), kept across generations;
# least recently used first out.
SEGMENT_CACHE_BYTES = 512 * 1024 * 1024
# Terms whose merged (all-segment) postings a generation keeps at hand.
VIEW_POSTINGS_ENTRIES = 20000
# Occurrence keys (phrase matching) a generation keeps at hand, least recently used first out.
VIEW_OCCURRENCES_BYTES = 256 * 1024 * 1024
# Integer column: the article's story (repost group), or minus its id when it has none.
STORY_FIELD = "story"


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
    return WHOOSH_ID(stored=False, sortable=True)


class PositionArray(formats.Positions):
    """Term positions as little-endian uint32s instead of Whoosh's pickled deltas.

    ``IndexView.positions`` then reads a whole posting block's positions with one
    ``numpy.frombuffer`` instead of unpickling every document's list.
    Indexes written before this format keep Whoosh's (their schema is stored with
    them) and are read through the slower per-document path until rebuilt.
    """

    def encode(self, poslist) -> bytes:
        out = array("I", poslist)
        if sys.byteorder == "big":
            out.byteswap()
        return out.tobytes()

    def decode_positions(self, valuestring: bytes) -> list[int]:
        return np.frombuffer(valuestring, dtype="<u4").tolist()

    def decode_frequency(self, valuestring: bytes) -> int:
        return len(valuestring) // 4

    def decode_weight(self, valuestring: bytes) -> float:
        return self.decode_frequency(valuestring) * self.field_boost

    def decode_position_boosts(self, valuestring: bytes) -> list[tuple[int, float]]:
        return [(pos, 1) for pos in self.decode_positions(valuestring)]

    def combine(self, vs) -> bytes:
        merged: set[int] = set()
        for v in vs:
            merged.update(self.decode_positions(v))
        return self.encode(sorted(merged))


class WordField(TEXT):
    """Jieba word field whose postings are built straight from ``text_terms``.

    Whoosh's generic path makes one ``Token`` object per word and goes through the
    analyzer generator chain; for plain strings this builds the same postings
    (term, frequency, weight, encoded positions) from a list of terms.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(self.format, formats.Positions):
            self.format = PositionArray(field_boost=self.format.field_boost)

    def index(self, value, **kwargs):
        if not isinstance(value, str):
            yield from super().index(value, **kwargs)
            return
        positions: dict[str, list[int]] = {}
        for pos, term in enumerate(text_terms(value)):
            found = positions.get(term)
            if found is None:
                positions[term] = [pos]
            else:
                found.append(pos)
        encode = self.format.encode
        boost = self.format.field_boost
        for term, poslist in positions.items():
            yield term.encode("utf-8"), len(poslist), len(poslist) * boost, encode(poslist)


@dataclass
class WhooshSearchResult:
    ids: list[int]
    count: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class ChineseWhooshSearchBackend(WhooshSearchBackend):
    def __init__(self, connection_alias, **connection_options):
        super().__init__(connection_alias, **connection_options)
        self._searcher = None
        self._view: IndexView | None = None
        self._store = _segment_arrays()
        self._retired: list = []  # readers of replaced segments, closed at the next renewal
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
            if name in TEXT_FIELDS or field_class.document:
                # Nothing big is stored: results are read back from the database rows.
                schema_fields[name] = WordField(analyzer=word_analyzer(), stored=False, phrase=True)
            elif name in FACET_FIELDS:
                schema_fields[name] = _facet_id()
            elif name == STORY_FIELD:
                schema_fields[name] = NUMERIC(numtype=int, bits=64, signed=True, stored=False, sortable=True)
            elif name in LIST_FIELDS:
                schema_fields[name] = FacetList(stored=False)
            elif field_class.field_type in ("date", "datetime"):
                schema_fields[name] = DATETIME(stored=False, sortable=True)
            elif not field_class.indexed:
                schema_fields[name] = STORED()
            else:
                schema_fields[name] = WordField(analyzer=word_analyzer(), stored=field_class.stored)
            if field_class.document:
                content_field_name = name
        return content_field_name, Schema(**schema_fields)

    def setup(self):
        super().setup()
        self._searcher = None
        # haystack opens the index with the schema built from today's code, ignoring the
        # one stored with it. An index written before positions were stored as arrays
        # must keep being read and written in its own format until it is rebuilt.
        stored = self._stored_schema()
        self.positions_outdated = stored is not None and _positions_outdated(stored)
        # the schema the index's files are read and written with
        self.index_schema = stored if self.positions_outdated else self.schema
        if self.positions_outdated:
            self.index = self.storage.open_index(schema=stored)

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
                self._searcher = self._searcher_renew(self._searcher)
            return self._searcher

    def _searcher_renew(self, old):
        """A searcher over the newest generation that keeps the old one's segment readers.

        Whoosh's ``Searcher.refresh`` means to reuse them but looks them up under a key
        they are not stored under (2.7.4), so after every commit it reopens every
        segment, copying each one's term and posting files into memory again. Here a
        segment still in the index keeps its reader (with a fresh deletion list when
        its deletions changed); only new segments are opened. Readers of segments that
        merges removed are closed one renewal later, when no query still uses them.
        """
        self.index = self.index.refresh()
        schema = self.index_schema
        toc = whoosh_index.TOC.read(self.storage, self.index.indexname, schema=schema)
        kept = {
            leaf.segment().segment_id(): leaf
            for leaf, _offset in old.reader().leaf_readers()
            if isinstance(leaf, SegmentReader) and not leaf.is_closed
        }
        retiring = self._retired
        self._retired = []
        readers = []
        for segment in toc.segments:
            leaf = kept.pop(segment.segment_id(), None)
            if leaf is None:
                readers.append(SegmentReader(self.storage, schema, segment, generation=toc.generation))
                continue
            if leaf.segment().deleted_count() != segment.deleted_count():
                renewed = copy.copy(leaf)  # shares the opened term and posting files
                renewed._segment = segment
                renewed._perdoc = leaf.codec().per_document_reader(leaf.storage(), segment)
                self._retired.append(leaf._perdoc)
                leaf = renewed
            leaf._gen = toc.generation
            readers.append(leaf)
        self._retired.extend(kept.values())  # merged away
        for item in retiring:
            with contextlib.suppress(Exception):
                item.close()
        if not readers:
            reader = EmptyReader(schema)
        elif len(readers) == 1:
            reader = readers[0]
        else:
            reader = MultiReader(readers, generation=toc.generation)
        return Searcher(reader, fromindex=self.index)

    def searcher_close(self) -> None:
        with self._searcher_lock:
            if self._searcher is not None:
                self._searcher.close()
            for item in self._retired:
                with contextlib.suppress(Exception):
                    item.close()
            self._retired = []
            self._searcher = None
            self._view = None
            # a cleared or deleted index: nothing read from its segments is needed again
            self._store = _segment_arrays()

    # --- writing ---------------------------------------------------------------------

    def _writer(self):
        self.index = self.index.refresh()
        return self.index.writer(
            procs=1, limitmb=WRITER_LIMIT_MB, timeout=float(settings.SEARCH_WRITER_LOCK_SECONDS)
        )

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
        if docs:
            self._documents_write(docs=docs, remove_ids=[])

    def documents_apply(self, *, index, objects: Sequence, remove_ids: Iterable[str]) -> None:
        """Update ``objects`` and delete the ``remove_ids`` identifiers in a single commit."""
        if not self.setup_complete:
            self.setup()
        # Indexing must use the newest words: ask the database on every batch.
        dictionary_refresh(check_now=True)
        docs = [doc for doc in (self._doc_prepare(index, obj) for obj in objects) if doc]
        remove_ids = list(remove_ids)
        if docs or remove_ids:
            self._documents_write(docs=docs, remove_ids=remove_ids)

    def _documents_write(self, *, docs: list[dict], remove_ids: list[str]) -> None:
        """Replace ``docs`` and delete ``remove_ids`` in one writer and one commit.

        Whoosh's ``update_document`` opens a reader over every segment for each document,
        which makes a bulk build quadratic in the number of segments; deleting the whole
        batch's old versions through one searcher, then adding, does the same in one pass.
        """
        writer = self._writer()
        try:
            # The long-lived searcher finds the old versions when it reads exactly the
            # segments the writer starts from; a searcher of the writer's own would open
            # (and copy into memory) every segment for each commit.
            searcher = self._searcher_matching(writer)
            owned = searcher is None
            if owned:
                searcher = writer.searcher()
            try:
                for ident in [*remove_ids, *(doc[ID] for doc in docs)]:
                    writer.delete_by_term(ID, ident, searcher=searcher)
            finally:
                if owned:
                    searcher.close()
            for doc in docs:
                writer.add_document(**doc)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def _searcher_matching(self, writer):
        """The long-lived searcher if it reads the writer's segments with the same deletions."""
        searcher = self.searcher_get()
        ours = [leaf.segment() for leaf, _offset in searcher.reader().leaf_readers()]
        ours = [segment for segment in ours if segment is not None]  # an empty index's reader
        if [(s.segment_id(), s.deleted_count()) for s in ours] != [
            (s.segment_id(), s.deleted_count()) for s in writer.segments
        ]:
            return None
        return searcher

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

    def index_view(self) -> IndexView:
        """Per-generation arrays over the current searcher (built once per commit)."""
        searcher = self.searcher_get()
        view = self._view
        if view is None or view.searcher is not searcher:
            view = IndexView(searcher, store=self._store)
            self._store.retain({segid for _leaf, _offset, segid in view.leaves if segid is not None})
            self._view = view
        return view

    def terms_containing(self, *, fieldname: str, needle: str) -> list[str]:
        return self.index_view().terms_containing(fieldname=fieldname, needle=needle)

    def terms_spanning(self, *, fieldname: str, needle: str) -> list[list[list[str]]]:
        return self.index_view().lexicon(fieldname).spanning(needle)

    def article_search(
        self,
        *,
        q: query.Query | None,
        filters: dict[str, query.Query],
        base_filter: query.Query | None,
        facet_fields: Sequence[str],
        sort: str,
        limit: int,
        collapse: bool = False,
    ) -> WhooshSearchResult:
        """Run ``q`` with filters; facets counted on per-generation arrays.

        Matching and BM25 scoring are done on whole posting blocks with numpy rather
        than one document at a time through Whoosh's matcher tree, so a query that
        matches most of the index costs about what a rare one does. ``filters`` maps
        a facet field to its selection; each facet is counted with every filter but
        its own (multi-select faceting). ``q=None`` matches all.

        With ``collapse`` only the best hit of each story (repost group) is kept:
        the best scored, or the newest/oldest for the date sorts. ``count`` then counts
        stories; facet counts still count articles.
        """
        view = self.index_view()
        if q is None:
            matched, scores = view.live, None
        else:
            matched, scores = view.evaluate(q)
            matched = matched & view.live
        masks = {name: view.evaluate(f, scored=False)[0] for name, f in filters.items()}
        base = view.live if base_filter is None else view.evaluate(base_filter, scored=False)[0]
        allowed = base
        for mask in masks.values():
            allowed = allowed & mask
        final = matched & allowed
        facets = {}
        for name in facet_fields:
            if name in masks:
                scope = matched & base
                for other, mask in masks.items():
                    if other != name:
                        scope = scope & mask
            else:
                scope = final
            facets[name] = view.facet_counts(fieldname=name, mask=scope)
        if collapse:
            final = view.collapse(mask=final, scores=scores, sort=sort)
        docnums = view.top(mask=final, scores=scores, sort=sort, limit=max(limit, 1))
        return WhooshSearchResult(ids=view.django_ids(docnums=docnums), count=int(final.sum()), facets=facets)


# BM25 parameters (Whoosh's defaults).
BM25_B = 0.75
BM25_K1 = 1.2


class BytesLRU:
    """A mapping that forgets its least recently used entries beyond ``budget_bytes``
    (numpy arrays and tuples/lists of them; the newest entry is always kept)."""

    def __init__(self, *, budget_bytes: int) -> None:
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._sizes: dict[Any, int] = {}
        self._budget = budget_bytes
        self.nbytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(self._items)

    def get(self, key: Any) -> Any:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def put(self, key: Any, value: Any) -> None:
        if key in self._items:
            return
        self._items[key] = value
        self._sizes[key] = _nbytes(value)
        self.nbytes += self._sizes[key]
        while self.nbytes > self._budget and len(self._items) > 1:
            old, _ = self._items.popitem(last=False)
            self.nbytes -= self._sizes.pop(old)

    def drop(self, predicate: Callable[[Any], bool]) -> None:
        for key in [k for k in self._items if predicate(k)]:
            del self._items[key]
            self.nbytes -= self._sizes.pop(key)


class SegmentArrays:
    """Arrays read from index segments, kept across index generations.

    A Whoosh segment never changes once written, except for deletions, which
    ``IndexView.live`` applies on top. What was read from a segment therefore stays
    true until a merge replaces it, and after a commit only the new segment has to be
    read: the first query after a commit costs about what any other does.
    Keys start with the segment id; thread-safe (web servers run threads).
    """

    def __init__(self, *, budget_bytes: int = SEGMENT_CACHE_BYTES) -> None:
        self._items = BytesLRU(budget_bytes=budget_bytes)
        self._lock = threading.Lock()
        self._lexicons: dict[str, tuple[TermLexicon, set[str]]] = {}

    def get(self, key: tuple, build: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._items.get(key)
        if found is None:
            found = build()
            with self._lock:
                self._items.put(key, found)
        return found

    @property
    def nbytes(self) -> int:
        return self._items.nbytes

    def keys(self) -> list[tuple]:
        with self._lock:
            return list(self._items)

    def retain(self, segids: set[str]) -> None:
        """Forget the segments that merges replaced."""
        with self._lock:
            self._items.drop(lambda key: key[0] not in segids)

    def lexicon(self, *, fieldname: str, leaves: list[tuple[Any, int, str | None]]) -> TermLexicon:
        """The field's terms over ``leaves``, adding only segments not seen before.

        Terms of documents deleted and merged away stay listed: they only expand a
        query to a term with no postings.
        """
        with self._lock:
            lexicon, seen = self._lexicons.setdefault(fieldname, (TermLexicon(()), set()))
            for leaf, _offset, segid in leaves:
                if segid is not None and segid in seen:
                    continue
                if fieldname in leaf.schema:
                    lexicon.add(t.decode("utf-8") for t in leaf.lexicon(fieldname))
                if segid is not None:
                    seen.add(segid)
            return lexicon


def _segment_arrays() -> SegmentArrays:
    return SegmentArrays(budget_bytes=settings.SEARCH_SEGMENT_CACHE_MB * 1024 * 1024)


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value) + 8 * len(value)
    return 64


def _segid(leaf) -> str | None:
    segment = leaf.segment() if hasattr(leaf, "segment") else None
    return segment.segment_id() if segment is not None else None


def _raw_matcher(leaf, fieldname: str, tbytes: bytes):
    """The term's postings in ``leaf`` with deleted documents left in (``live`` drops them)."""
    m = leaf.postings(fieldname, tbytes)
    while not hasattr(m, "_read_ids") and hasattr(m, "child"):
        m = m.child
    return m


def _leaf_postings(leaf, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(docnums in the segment, term frequencies) of one term."""
    if (fieldname, tbytes) not in leaf:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    m = _raw_matcher(leaf, fieldname, tbytes)
    if not hasattr(m, "_read_ids"):
        ids: list[int] = []
        weights: list[float] = []
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            m.next()
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32)
    ids_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    # whole posting blocks at a time (Whoosh's W3 codec keeps them as arrays)
    while m.is_active():
        m._read_ids()
        m._read_weights()
        ids_parts.append(np.asarray(m._ids, dtype=np.int64))
        weight_parts.append(np.asarray(m._weights, dtype=np.float32))
        m._next_block()
    if not ids_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(ids_parts), np.concatenate(weight_parts)


def _leaf_positions(leaf, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(docnums in the segment, positions), one pair per occurrence of one term."""
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    if fieldname not in leaf.schema or (fieldname, tbytes) not in leaf:
        return empty
    fmt = leaf.schema[fieldname].format
    m = _raw_matcher(leaf, fieldname, tbytes)
    doc_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    if not hasattr(m, "_read_values"):
        while m.is_active():
            value = list(m.value_as("positions"))
            doc_parts.append(np.full(len(value), m.id(), dtype=np.int64))
            pos_parts.append(np.asarray(value, dtype=np.int64))
            m.next()
    else:
        packed = isinstance(fmt, PositionArray)
        while m.is_active():
            m._read_ids()
            m._read_values()
            ids = np.asarray(m._ids, dtype=np.int64)
            if packed:
                # a whole block's positions in one buffer
                counts = np.fromiter(map(len, m._values), dtype=np.int64, count=len(ids)) // 4
                pos_parts.append(np.frombuffer(b"".join(m._values), dtype="<u4").astype(np.int64))
            else:
                decoded = [fmt.decode_positions(v) for v in m._values]
                counts = np.fromiter(map(len, decoded), dtype=np.int64, count=len(ids))
                pos_parts.append(np.fromiter(itertools.chain.from_iterable(decoded), dtype=np.int64))
            doc_parts.append(np.repeat(ids, counts))
            m._next_block()
    if not doc_parts:
        return empty
    return np.concatenate(doc_parts), np.concatenate(pos_parts)


def _leaf_live(leaf) -> np.ndarray:
    """Which documents of the segment are not deleted (for its current deletions)."""
    local = np.zeros(leaf.doc_count_all(), dtype=bool)
    local[np.fromiter(leaf.all_doc_ids(), dtype=np.int64)] = True
    return local


def _leaf_lengths(leaf, fieldname: str) -> np.ndarray:
    dfl = leaf.doc_field_length
    size = leaf.doc_count_all()
    return np.fromiter((dfl(i, fieldname) for i in range(size)), dtype=np.float32, count=size)


def _leaf_column(leaf, fieldname: str, *, translate: bool, positive: bool) -> np.ndarray:
    size = leaf.doc_count_all()
    if not size or fieldname not in leaf.schema:
        return np.zeros(size, dtype=np.int64)
    column = leaf.column_reader(fieldname, translate=translate)
    if positive:
        return np.fromiter(((v if v and v > 0 else 0) for v in column), dtype=np.int64, count=size)
    return np.fromiter((v or 0 for v in column), dtype=np.int64, count=size)


def _leaf_facet(leaf, fieldname: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(values, docnums in the segment, value codes) for every (document, value) pair."""
    values: list[str] = []
    docs: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    if fieldname in leaf.schema:
        for tbytes in leaf.lexicon(fieldname):
            value = tbytes.decode("utf-8")
            if not value:
                continue
            ids, _ = _leaf_postings(leaf, fieldname, tbytes)
            docs.append(ids)
            codes.append(np.full(len(ids), len(values), dtype=np.int64))
            values.append(value)
    if not docs:
        return values, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return values, np.concatenate(docs), np.concatenate(codes)


class IndexView:
    """Numpy arrays over one searcher generation: liveness, lengths, facets, dates.

    Each array is the concatenation of per-segment arrays kept in ``SegmentArrays``
    across generations; this view adds what depends on the whole generation (the
    document offsets, deletions, average lengths) and is built lazily, once.
    """

    def __init__(self, searcher, *, store: SegmentArrays | None = None) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.size = self.reader.doc_count_all()
        self.store = store if store is not None else SegmentArrays()
        self.leaves = [(leaf, offset, _segid(leaf)) for leaf, offset in self.reader.leaf_readers()]
        self._lengths: dict[str, tuple[np.ndarray, float]] = {}
        self._facets: dict[str, tuple[np.ndarray, np.ndarray, list[str]]] = {}
        self._published: np.ndarray | None = None
        self._stories: np.ndarray | None = None
        self._postings: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._occurrences = BytesLRU(budget_bytes=VIEW_OCCURRENCES_BYTES)
        live = np.ones(self.size, dtype=bool)
        for leaf, offset, segid in self.leaves:
            if leaf.has_deletions():
                local = self._segment(
                    segid, ("live", leaf.segment().deleted_count()), lambda leaf=leaf: _leaf_live(leaf)
                )
                live[offset : offset + len(local)] = local
        self.live = live

    def _segment(self, segid: str | None, key: tuple, build: Callable[[], Any]) -> Any:
        return build() if segid is None else self.store.get((segid, *key), build)

    def _concat(self, kind: str, fieldname: str, build, dtype) -> np.ndarray:
        parts = [
            self._segment(segid, (kind, fieldname), lambda leaf=leaf: build(leaf))
            for leaf, _offset, segid in self.leaves
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    # --- terms ---------------------------------------------------------------------

    def lexicon(self, fieldname: str) -> TermLexicon:
        return self.store.lexicon(fieldname=fieldname, leaves=self.leaves)

    def terms_containing(self, *, fieldname: str, needle: str) -> list[str]:
        found = self.lexicon(fieldname).containing(needle)
        if len(found) > EXPANSION_LIMIT:
            df = self.reader.doc_frequency
            found = sorted(found, key=lambda t: -df(fieldname, t))[:EXPANSION_LIMIT]
        return found

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, term frequencies) of one term over all segments."""
        key = (fieldname, text)
        found = self._postings.get(key)
        if found is not None:
            return found
        tbytes = text.encode("utf-8") if isinstance(text, str) else text
        ids_parts: list[np.ndarray] = []
        weight_parts: list[np.ndarray] = []
        for leaf, offset, segid in self.leaves:
            ids, weights = self._segment(
                segid,
                ("postings", fieldname, tbytes),
                lambda leaf=leaf: _leaf_postings(leaf, fieldname, tbytes),
            )
            if len(ids):
                ids_parts.append(ids + offset)
                weight_parts.append(weights)
        if ids_parts:
            found = (np.concatenate(ids_parts), np.concatenate(weight_parts))
        else:
            found = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        if len(self._postings) < VIEW_POSTINGS_ENTRIES:
            self._postings[key] = found
        return found

    def lengths(self, fieldname: str) -> tuple[np.ndarray, float]:
        found = self._lengths.get(fieldname)
        if found is None:
            arr = self._concat("lengths", fieldname, lambda leaf: _leaf_lengths(leaf, fieldname), np.float32)
            live = arr[self.live]
            avg = float(live.mean()) if len(live) and live.mean() > 0 else 1.0
            found = (arr, avg)
            self._lengths[fieldname] = found
        return found

    # --- evaluation ----------------------------------------------------------------

    def evaluate(self, q: query.Query, *, scored: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """(match mask, BM25 scores) of a query built from Term/Phrase/And/Or/AndNot."""
        size = self.size
        if isinstance(q, query.Term):
            mask = np.zeros(size, dtype=bool)
            ids, tf = self.postings(q.fieldname, q.text)
            mask[ids] = True
            if not scored:
                return mask, None
            score = np.zeros(size, dtype=np.float32)
            if len(ids):
                score[ids] = self._bm25(q.fieldname, ids, tf) * q.boost
            return mask, score
        if isinstance(q, (query.Phrase, query.Sequence)):
            if isinstance(q, query.Phrase):
                subs = [query.Term(q.fieldname, w, boost=q.boost) for w in q.words]
            else:
                subs = q.subqueries
            mask = np.zeros(size, dtype=bool)
            ids, counts = self.phrase_counts(subs)
            if not len(ids):
                return mask, (np.zeros(size, dtype=np.float32) if scored else None)
            mask[ids] = True
            if not scored:
                return mask, None
            # BM25 of the phrase itself: how often the words occur in a row and how rare
            # that is, not the frequencies of its words one by one (an article saying
            # 网络 fifty times and 网络钓鱼 once is not about phishing).
            tf = counts.astype(np.float32)
            fieldname = getattr(q, "fieldname", None) or _query_fieldname(subs[0])
            boost = float(np.mean([_query_boost(sub) for sub in subs]))
            idf_words = sum(self._idf(_query_fieldname(sub), sub) for sub in subs)
            score = np.zeros(size, dtype=np.float32)
            score[ids] = self._bm25(fieldname, ids, tf, idf=idf_words) * boost
            return mask, score
        if isinstance(q, query.Or):
            mask = np.zeros(size, dtype=bool)
            score = np.zeros(size, dtype=np.float32) if scored else None
            for sub in q.subqueries:
                if isinstance(sub, query.Term):
                    # in place: a sub-word query can be an OR of a thousand terms
                    ids, tf = self.postings(sub.fieldname, sub.text)
                    mask[ids] = True
                    if scored and len(ids):
                        score[ids] += self._bm25(sub.fieldname, ids, tf) * sub.boost
                    continue
                m, sc = self.evaluate(sub, scored=scored)
                mask |= m
                if scored:
                    score += sc
            return mask, score
        if isinstance(q, query.And):
            mask = np.ones(size, dtype=bool)
            score = np.zeros(size, dtype=np.float32) if scored else None
            for sub in q.subqueries:
                m, sc = self.evaluate(sub, scored=scored)
                mask &= m
                if scored:
                    score += sc
            return mask, (score * mask if scored else None)
        if isinstance(q, query.AndNot):
            mask, score = self.evaluate(q.a, scored=scored)
            neg, _ = self.evaluate(q.b, scored=False)
            mask = mask & ~neg
            return mask, (score * mask if scored else None)
        if isinstance(q, query.DateRange) and q.fieldname == "published":
            return self._date_range(q), None
        if isinstance(q, query.Every):
            return self.live.copy(), (np.ones(size, dtype=np.float32) if scored else None)
        if q is query.NullQuery or isinstance(q, type(query.NullQuery)):
            return np.zeros(size, dtype=bool), (np.zeros(size, dtype=np.float32) if scored else None)
        # anything else: Whoosh's own matcher (no scores beyond presence)
        mask = np.zeros(size, dtype=bool)
        hits = list(self.searcher.docs_for_query(q))
        if hits:
            mask[np.asarray(hits, dtype=np.int64)] = True
        return mask, (mask.astype(np.float32) if scored else None)

    def _idf(self, fieldname: str, sub: query.Query) -> float:
        """Whoosh's idf of a term, or of the rarest term of an OR of terms."""
        terms = [sub] if isinstance(sub, query.Term) else list(getattr(sub, "subqueries", ()))
        dfs = [len(self.postings(t.fieldname, t.text)[0]) for t in terms if isinstance(t, query.Term)]
        df = min(dfs) if dfs else 0
        return float(np.log(self.size / (df + 1)) + 1.0)

    def phrase_counts(self, subs: list[query.Query]) -> tuple[np.ndarray, np.ndarray]:
        """Documents where the ``subs`` (terms, or ORs of terms) occur in a row:
        (docnums, how many times), both sorted by docnum.

        Every occurrence of a term is one sorted int64 key, document << 32 | position.
        The phrase starts are taken from the step with the fewest occurrences and looked
        up in the other steps' keys by binary search, so a phrase of common words costs
        about the size of its rarest word, not of its most common one.
        """
        steps = [self._step_keys(sub) for sub in subs]
        sizes = [sum(len(keys) for keys in step) for step in steps]
        anchor = int(np.argmin(sizes))
        if not sizes[anchor]:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        found = steps[anchor]
        keys = found[0] if len(found) == 1 else np.concatenate(found)
        # a phrase that would start before the text's first word
        keys = keys[(keys & 0xFFFFFFFF) >= anchor]
        starts = keys - anchor
        for offset, step in enumerate(steps):
            if offset == anchor or not len(starts):
                continue
            wanted = starts + offset
            present = np.zeros(len(wanted), dtype=bool)
            for keys in step:
                if len(keys):
                    at = np.searchsorted(keys, wanted)
                    at[at == len(keys)] = 0
                    present |= keys[at] == wanted
            starts = starts[present]
        if not len(starts):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.unique(starts >> 32, return_counts=True)

    def _step_keys(self, sub: query.Query) -> list[np.ndarray]:
        terms = [sub] if isinstance(sub, query.Term) else list(getattr(sub, "subqueries", ()))
        return [self.occurrences(t.fieldname, t.text) for t in terms if isinstance(t, query.Term)]

    def occurrences(self, fieldname: str, text: str) -> np.ndarray:
        """Sorted keys (document << 32 | position) of every occurrence of one term."""
        key = (fieldname, text)
        found = self._occurrences.get(key)
        if found is None:
            docs, positions = self.positions(fieldname, text)
            found = (docs << 32) | positions
            if len(found) > 1 and not (found[1:] > found[:-1]).all():
                found = np.unique(found)
            self._occurrences.put(key, found)
        return found

    def positions(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, positions) of every occurrence of one term, one pair per occurrence.

        Kept per segment: a phrase of common words then costs a few array
        intersections, not a decode per document.
        """
        tbytes = text.encode("utf-8")
        doc_parts: list[np.ndarray] = []
        pos_parts: list[np.ndarray] = []
        for leaf, offset, segid in self.leaves:
            docs, positions = self._segment(
                segid,
                ("positions", fieldname, tbytes),
                lambda leaf=leaf: _leaf_positions(leaf, fieldname, tbytes),
            )
            if len(docs):
                doc_parts.append(docs + offset)
                pos_parts.append(positions)
        if not doc_parts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if len(doc_parts) == 1:
            return doc_parts[0], pos_parts[0]
        return np.concatenate(doc_parts), np.concatenate(pos_parts)

    def _bm25(
        self, fieldname: str, ids: np.ndarray, tf: np.ndarray, *, idf: float | None = None
    ) -> np.ndarray:
        lengths, avg = self.lengths(fieldname)
        if idf is None:
            # Whoosh's idf: log(N / (df + 1)) + 1
            idf = np.log(self.size / (len(ids) + 1)) + 1.0
        norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths[ids] / avg)
        return (idf * tf * (BM25_K1 + 1) / (tf + norm)).astype(np.float32)

    def published(self) -> np.ndarray:
        if self._published is None:
            self._published = self._concat(
                "column",
                "published",
                lambda leaf: _leaf_column(leaf, "published", translate=False, positive=False),
                np.int64,
            )
        return self._published

    def _date_range(self, q: query.DateRange) -> np.ndarray:
        from whoosh.util.times import datetime_to_long

        values = self.published()
        mask = values > 0
        if q.startdate is not None:
            mask &= values >= datetime_to_long(q.startdate)
        if q.enddate is not None:
            mask &= values <= datetime_to_long(q.enddate)
        return mask

    # --- facets and order ------------------------------------------------------------

    def _facet(self, fieldname: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(docnums, value codes, values) for every (document, value) pair of a facet field."""
        found = self._facets.get(fieldname)
        if found is None:
            codes_of: dict[str, int] = {}
            docs: list[np.ndarray] = []
            codes: list[np.ndarray] = []
            for leaf, offset, segid in self.leaves:
                values, ldocs, lcodes = self._segment(
                    segid, ("facet", fieldname), lambda leaf=leaf: _leaf_facet(leaf, fieldname)
                )
                if not values:
                    continue
                # the segment's value codes in this generation's numbering
                remap = np.fromiter(
                    (codes_of.setdefault(v, len(codes_of)) for v in values), dtype=np.int64, count=len(values)
                )
                docs.append(ldocs + offset)
                codes.append(remap[lcodes])
            if docs:
                found = (np.concatenate(docs), np.concatenate(codes), list(codes_of))
            else:
                found = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), [])
            self._facets[fieldname] = found
        return found

    def facet_counts(self, *, fieldname: str, mask: np.ndarray) -> dict[str, int]:
        docs, codes, values = self._facet(fieldname)
        if not values:
            return {}
        counts = np.bincount(codes[mask[docs]], minlength=len(values))
        return {values[i]: int(c) for i in np.flatnonzero(counts).tolist() for c in (counts[i],)}

    def top(self, *, mask: np.ndarray, scores: np.ndarray | None, sort: str, limit: int) -> list[int]:
        candidates = np.flatnonzero(mask)
        if not len(candidates):
            return []
        if sort in ("newest", "oldest") or scores is None:
            dates = self.published()[candidates]
            keys = -dates if sort != "oldest" else dates
            order = np.lexsort((candidates, keys))
            return candidates[order[:limit]].tolist()
        cand_scores = scores[candidates]
        if len(candidates) > limit:
            part = np.argpartition(-cand_scores, limit - 1)[:limit]
            candidates, cand_scores = candidates[part], cand_scores[part]
        order = np.lexsort((candidates, -cand_scores))
        return candidates[order].tolist()

    def stories(self) -> np.ndarray:
        """Story id per document, 0 for documents in no story (or indexed before stories)."""
        if self._stories is None:
            self._stories = self._concat(
                "column",
                STORY_FIELD,
                lambda leaf: _leaf_column(leaf, STORY_FIELD, translate=True, positive=True),
                np.int64,
            )
        return self._stories

    def collapse(self, *, mask: np.ndarray, scores: np.ndarray | None, sort: str) -> np.ndarray:
        """``mask`` keeping one document per story: the one ``top`` would list first."""
        candidates = np.flatnonzero(mask)
        if not len(candidates):
            return mask
        keys = self.stories()[candidates]
        grouped = keys > 0
        if not grouped.any():
            return mask
        docs, keys = candidates[grouped], keys[grouped]
        if sort in ("newest", "oldest") or scores is None:
            dates = self.published()[docs]
            primary = -dates if sort != "oldest" else dates
        else:
            primary = -scores[docs]
        order = np.lexsort((docs, primary, keys))
        ordered_keys = keys[order]
        later = np.zeros(len(order), dtype=bool)
        later[1:] = ordered_keys[1:] == ordered_keys[:-1]
        out = mask.copy()
        out[docs[order[later]]] = False
        return out

    def django_ids(self, *, docnums: list[int]) -> list[int]:
        stored = self.reader.stored_fields
        return [int(stored(d)[DJANGO_ID]) for d in docnums]


def _positions_outdated(schema: Schema) -> bool:
    """Whether a word field of ``schema`` still stores Whoosh's pickled positions."""
    return any(
        isinstance(f.format, formats.Positions) and not isinstance(f.format, PositionArray)
        for f in schema
        if isinstance(f, WordField)
    )


def _query_fieldname(q: query.Query) -> str:
    if isinstance(q, query.Term):
        return q.fieldname
    for sub in getattr(q, "subqueries", ()):
        return _query_fieldname(sub)
    return ""


def _query_boost(q: query.Query) -> float:
    if isinstance(q, query.Term):
        return q.boost
    boosts = [_query_boost(sub) for sub in getattr(q, "subqueries", ())]
    return max(boosts) if boosts else 1.0


class ChineseWhooshEngine(WhooshEngine):
    backend = ChineseWhooshSearchBackend
