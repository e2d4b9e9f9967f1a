"""The Whoosh schema and the storage formats of its fields.

Word fields hold jieba's precise words with positions stored as uint32 arrays
(``PositionArray``), nothing large is stored (results are read back from the database),
facets are un-analysed sortable columns (multi-valued ones as list columns). There is no
character/pair field: parts of words (税, 心理 → 心理健康) are expanded at query time
against the index's own term list.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence

import numpy as np
from haystack.constants import DJANGO_CT, DJANGO_ID, ID
from whoosh import columns, formats
from whoosh.fields import DATETIME, NUMERIC, STORED, TEXT, FieldType, Schema
from whoosh.fields import ID as WHOOSH_ID

from search.facets import FACETS
from zhtext.analysis import AnalysedText, text_terms

from . import _internals
from .analysis import word_analyzer

TEXT_FIELDS = {"text", "title", "source"}
# Facet fields with one value per article: un-analysed ids with a sortable column.
FACET_FIELDS = {facet.field for facet in FACETS if not facet.multi_valued}
# Facet fields with several values per article: one term per value, a list column.
FACET_LIST_FIELDS = {facet.field for facet in FACETS if facet.multi_valued}
# Every multi-valued field, facets and the plain lists of names.
LIST_FIELDS = FACET_LIST_FIELDS | {"authors", "tags"}
# Integer column: the article's story (repost group), or minus its id when it has none.
STORY_FIELD = "story"

_internals.schema_legacy_paths_install()


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
    them) and are read through the slower per-value decoding until rebuilt.
    """

    # (the segment writer also keeps such positions as plain arrays: ``_internals``)
    packed_positions = True

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

    def words(self, value) -> Sequence[str] | None:
        """The terms of ``value`` in order (None for a value Whoosh analyses)."""
        if isinstance(value, AnalysedText):
            return value.terms  # segmented at ingest (search_indexes.article_search_analysed)
        if isinstance(value, str):
            return text_terms(value)
        return None

    def term_positions(self, value) -> dict[str, list[int]] | None:
        """Each term of ``value`` with its positions (None for a value Whoosh analyses)."""
        terms = self.words(value)
        return None if terms is None else _internals.word_positions(terms)

    def index(self, value, **kwargs):
        positions = self.term_positions(value)
        if positions is None:
            yield from super().index(value, **kwargs)
            return
        encode = self.format.encode
        boost = self.format.field_boost
        for term, poslist in positions.items():
            yield term.encode("utf-8"), len(poslist), len(poslist) * boost, encode(poslist)


def schema_build(*, fields) -> tuple[str, Schema]:
    """(content field name, schema) for haystack's search fields (``build_schema``)."""
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


def positions_outdated(schema: Schema) -> bool:
    """Whether a word field of ``schema`` still stores Whoosh's pickled positions."""
    return any(
        isinstance(f.format, formats.Positions) and not isinstance(f.format, PositionArray)
        for f in schema
        if isinstance(f, WordField)
    )
