"""The only module that touches Whoosh 2.7.4's private internals (names starting with ``_``).

These things need them, for speed and memory:

* reading a term's postings a whole block at a time (the W3 codec keeps each block's
  document ids, weights and values as arrays) instead of one document at a time through
  the public matcher API;
* renewing a searcher after a commit while keeping the readers of unchanged segments
  (``Searcher.refresh`` in 2.7.4 reopens every segment);
* reading the files of a compound segment in place from its memory map (Whoosh copies
  each into the process: ``segment_files_share``);
* opening indexes whose pickled schema names field classes where they used to live
  (``whoosh.index`` unpickles it with a module-level ``pickle``).

Everything here is behind the small functions below. When a Whoosh release changes the
matcher internals, ``block_postings``/``block_positions`` fall back to the public,
per-document path and count it in ``fallbacks``; ``search/tests`` fails when that
happens on the pinned release, so a silent slowdown cannot ship.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import io
import itertools
import operator
import pickle
import struct
import sys
import threading
import zlib
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np
import whoosh.filedb.compound as whoosh_compound
import whoosh.filedb.filetables as whoosh_filetables
import whoosh.index
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.filedb.structfile import BufferFile, StructFile
from whoosh.reading import SegmentReader
from whoosh.system import pack_ushort
from whoosh.util.numeric import _length_byte_cache, byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

try:  # built by ``make native`` (scripts/build_native.py); the Python version otherwise
    from ._postings import postings_add as _postings_add_native
    from ._postings import w3_block as _w3_block_native
    from ._postings import w3_lengths_set as _w3_lengths_set
    from ._postings import w3_terms as _w3_terms_native
except ImportError:  # pragma: no cover - depends on the build
    _postings_add_native = _w3_block_native = _w3_terms_native = None
else:
    _w3_lengths_set(list(_length_byte_cache))
# The C block writer sums a block's weights by plain addition, as ``sum`` of floats did up to
# Python 3.11; a Python that sums them more exactly (3.12's ``sum``) would store other totals.
if sum([0.1] * 10) != 0.9999999999999999:  # pragma: no cover - depends on the Python
    _w3_block_native = _w3_terms_native = None

# --- segment files read in place ------------------------------------------------------


class _ViewReader:
    """A read-only file over a memoryview that does not copy it.

    Whoosh maps a compound segment file and hands each file in it out as a ``BufferFile``,
    whose ``BytesIO(buf)`` copies the mapped bytes into the process: every web process held
    its own copy of the postings and term files (the size of the index, per process). Read
    through this instead, the pages stay the page cache's, shared by every process."""

    __slots__ = ("_pos", "_view")

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        start = self._pos
        end = len(self._view) if size is None or size < 0 else min(start + size, len(self._view))
        self._pos = end
        return bytes(self._view[start:end])

    def readline(self, size: int | None = -1) -> bytes:
        out = bytearray()
        while size is None or size < 0 or len(out) < size:
            byte = self.read(1)
            if not byte:
                break
            out += byte
            if byte == b"\n":
                break
        return bytes(out)

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        self._pos = max(0, base + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._view = memoryview(b"")


class _SharedBufferFile(BufferFile):
    """``BufferFile`` reading its buffer in place (see ``_ViewReader``)."""

    def __init__(self, buf: Any, name: str | None = None, onclose: Any = None) -> None:
        self._buf = buf
        self._name = name
        self.file = _ViewReader(memoryview(buf))
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False


def segment_files_share() -> None:
    """Make compound segment files read in place from their memory map (idempotent)."""
    whoosh_compound.BufferFile = _SharedBufferFile


class _Counter:
    """How often the per-document path was taken instead of the block path (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


fallbacks = _Counter()


def _raw_matcher(leaf: Any, fieldname: str, tbytes: bytes) -> Any:
    """The term's postings in ``leaf`` with deleted documents left in (``live`` drops them)."""
    m = leaf.postings(fieldname, tbytes)
    while not _has_blocks(m) and hasattr(m, "child"):
        m = m.child
    return m


def _has_blocks(m: Any) -> bool:
    return all(hasattr(m, name) for name in ("_read_ids", "_read_weights", "_read_values", "_next_block"))


def block_postings(leaf: Any, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(docnums in the segment, term frequencies) of one term present in ``leaf``: from the
    segment's posting arrays when it has them (uint32 docnums), else whole W3 blocks at a
    time (int64)."""
    arrays = posting_arrays(leaf)
    if arrays is not None:
        offset, _length = leaf.term_info(fieldname, tbytes).extent()
        found = arrays.postings(offset)
        if found is not None:
            return found  # views of the mapped file: nothing copied into the process
    return block_postings_w3(leaf, fieldname, tbytes)


def block_postings_w3(leaf: Any, fieldname: str, tbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """``block_postings`` read from the W3 posting blocks."""
    m = _raw_matcher(leaf, fieldname, tbytes)
    if not _has_blocks(m):
        fallbacks.add()
        ids: list[int] = []
        weights: list[float] = []
        while m.is_active():
            ids.append(m.id())
            weights.append(m.weight())
            m.next()
        return np.asarray(ids, dtype=np.int64), np.asarray(weights, dtype=np.float32)
    ids_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    while m.is_active():
        m._read_ids()
        m._read_weights()
        ids_parts.append(np.asarray(m._ids, dtype=np.int64))
        weight_parts.append(np.asarray(m._weights, dtype=np.float32))
        m._next_block()
    if not ids_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(ids_parts), np.concatenate(weight_parts)


def block_positions(
    leaf: Any, fieldname: str, tbytes: bytes, *, packed: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(docnum parts, position parts) of one term present in ``leaf``, one pair per occurrence.

    ``packed``: the field stores positions as little-endian uint32 arrays, so a block's
    positions are one ``numpy.frombuffer``; otherwise the field's format decodes each value.
    """
    arrays = posting_arrays(leaf) if packed else None
    if arrays is not None:
        offset, _length = leaf.term_info(fieldname, tbytes).extent()
        found = arrays.occurrences(offset)
        if found is not None:
            return [found[0]], [found[1]]
    return block_positions_w3(leaf, fieldname, tbytes, packed=packed)


def block_positions_w3(
    leaf: Any, fieldname: str, tbytes: bytes, *, packed: bool
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``block_positions`` read from the W3 posting blocks."""
    fmt = leaf.schema[fieldname].format
    m = _raw_matcher(leaf, fieldname, tbytes)
    doc_parts: list[np.ndarray] = []
    pos_parts: list[np.ndarray] = []
    if not _has_blocks(m):
        fallbacks.add()
        while m.is_active():
            value = list(m.value_as("positions"))
            doc_parts.append(np.full(len(value), m.id(), dtype=np.int64))
            pos_parts.append(np.asarray(value, dtype=np.int64))
            m.next()
        return doc_parts, pos_parts
    while m.is_active():
        m._read_ids()
        m._read_values()
        ids = np.asarray(m._ids, dtype=np.int64)
        if packed:
            counts = np.fromiter(map(len, m._values), dtype=np.int64, count=len(ids)) // 4
            pos_parts.append(np.frombuffer(b"".join(m._values), dtype="<u4").astype(np.int64))
        else:
            decoded = [fmt.decode_positions(v) for v in m._values]
            counts = np.fromiter(map(len, decoded), dtype=np.int64, count=len(ids))
            pos_parts.append(np.fromiter(itertools.chain.from_iterable(decoded), dtype=np.int64))
        doc_parts.append(np.repeat(ids, counts))
        m._next_block()
    return doc_parts, pos_parts


def reader_with_deletions(leaf: Any, *, segment: Any) -> tuple[Any, Any]:
    """A copy of a segment reader that shares its opened term and posting files but reads
    ``segment``'s (newer) deletion list; also the per-document reader it replaces, to close
    once no query uses it any more."""
    renewed = copy.copy(leaf)
    renewed._segment = segment
    renewed._perdoc = leaf.codec().per_document_reader(leaf.storage(), segment)
    return renewed, leaf._perdoc


def reader_own_part(renewed: Any) -> Any:
    """What a ``reader_with_deletions`` copy opened itself (its per-document reader): to
    close when the copy is dropped unused, leaving the files it shares open."""
    return renewed._perdoc


def reader_generation_set(leaf: Any, *, generation: int) -> None:
    """Mark a kept segment reader as belonging to the index generation ``generation``."""
    leaf._gen = generation


# --- schemas pickled under older class paths ---------------------------------------------

# An index stores its schema pickled, classes named by module path. Indexes written before
# the engine package named its field classes where they lived then.
LEGACY_CLASS_PATHS = {
    ("search.backends", "WordField"): "search.engines.whoosh.schema",
    ("search.backends", "PositionArray"): "search.engines.whoosh.schema",
    ("search.backends", "FacetList"): "search.engines.whoosh.schema",
    ("search.analysis", "WordTokenizer"): "search.engines.whoosh.analysis",
}


class _SchemaUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(LEGACY_CLASS_PATHS.get((module, name), module), name)


class _PickleReadingLegacyPaths:
    """Stands in for the ``pickle`` module inside ``whoosh.index`` (which reads the schema
    with ``pickle.loads``): the same, except that old class paths resolve."""

    def __getattr__(self, name: str) -> Any:
        return getattr(pickle, name)

    @staticmethod
    def loads(data: bytes) -> Any:
        return _SchemaUnpickler(io.BytesIO(data)).load()


def schema_legacy_paths_install() -> None:
    """Let ``whoosh.index`` open indexes whose schema names ``LEGACY_CLASS_PATHS``."""
    if not isinstance(whoosh.index.pickle, _PickleReadingLegacyPaths):
        whoosh.index.pickle = _PickleReadingLegacyPaths()


# --- writing segments ----------------------------------------------------------------------

# Whoosh's SegmentWriter sends every posting through a sorting pool as a tuple, then through
# ``FieldWriter.add_postings`` one call per posting, reading each document's field length
# back from the column just written: two thirds of a rebuild's time went there. The writer
# below keeps each term's postings in lists as documents arrive (documents come in docnum
# order, so each list is already sorted), and writes them a block at a time through the
# codec's own block encoder. The files it writes are byte for byte those Whoosh writes
# (``search/tests/test_segment_writer.py`` compares them).


def _length_round(length: int) -> int:
    """A field length as the segment's length column gives it back (one byte, lossy)."""
    return byte_to_length(length_to_byte(length))


class _MergeSource:
    """A segment being merged: its reader and where its live documents went."""

    def __init__(self, reader: Any, docmap: np.ndarray) -> None:
        self.reader = reader
        self.docmap = docmap  # old docnum → new docnum, -1 for deleted
        # the same as a list: most terms have a posting or two, too few for numpy to pay
        self.docmap_list: list[int] = docmap.tolist()


class _CountingFile(StructFile):
    """A file being written that knows its own position.

    Whoosh's term writer asks the postings and terms files where they are four times per
    term; on a buffered file each answer is a system call."""

    def __init__(self, inner: StructFile) -> None:
        super().__init__(inner.file, name=inner._name, onclose=inner.onclose)
        self.is_real = False  # (arrays then go through ``write`` too, and are counted)
        self._position = inner.file.tell()

    def write(self, data: Any) -> int:
        written = self.file.write(data)
        self._position += written
        return written

    def write_pickle(self, obj: Any, protocol: int = -1) -> None:
        self.write(pickle.dumps(obj, protocol))

    def tell(self) -> int:
        return self._position

    def seek(self, *args: Any) -> int:
        self._position = self.file.seek(*args)
        return self._position


def word_positions(words: Sequence[str]) -> dict[str, list[int]]:
    """Each distinct word with its positions, in order of first occurrence."""
    positions: dict[str, list[int]] = {}
    for position, word in enumerate(words):
        found = positions.get(word)
        if found is None:
            positions[word] = [position]
        else:
            found.append(position)
    return positions


def postings_add_python(
    words: Sequence[str],
    postings: dict[bytes, tuple[list, list, list]],
    docnum: int,
    boost: float,
    fieldboost: float,
) -> int:
    """Add one document's ``words`` (in order) to a word field's ``postings``: each distinct
    word, in order of first occurrence, gets the document, its frequency × ``boost`` ×
    ``fieldboost`` and its positions as little-endian uint32s (``schema.PositionArray``).
    Returns the number of words. The reference for ``_postings.c``, and its fallback."""
    for word, poslist in word_positions(words).items():
        packed = array("I", poslist)
        if sys.byteorder == "big":
            packed.byteswap()
        weight = len(poslist) * boost * fieldboost
        tbytes = word.encode("utf-8")
        entry = postings.get(tbytes)
        if entry is None:
            postings[tbytes] = ([docnum], [weight], [packed.tobytes()])
        else:
            entry[0].append(docnum)
            entry[1].append(weight)
            entry[2].append(packed.tobytes())
    return len(words)


postings_add = _postings_add_native or postings_add_python


def native_postings_available() -> bool:
    return _postings_add_native is not None


class FastSegmentWriter(SegmentWriter):
    """A ``SegmentWriter`` that writes postings term by term and block by block.

    Besides documents, it takes whole segments (``segment_add``): their per-document data
    is copied as Whoosh copies it, their postings are streamed term by term at flush
    (one term's postings in memory at a time, no sorting pool). ``protected()`` names
    segment ids a commit must not clean away (merges writing elsewhere).
    """

    def __init__(self, ix: Any, *, protected: Any = None, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        fieldwriter = self.fieldwriter
        fieldwriter._postfile = _CountingFile(fieldwriter._postfile)
        fieldwriter._tindex.dbfile = _CountingFile(fieldwriter._tindex.dbfile)
        for name, field in self.schema.items():
            if field.vector or field.separate_spelling():
                raise ValueError(f"FastSegmentWriter cannot write field {name!r} (vectors or spelling)")
        self._protected = protected or (lambda: set())
        self._postings: dict[str, dict[bytes, tuple[list, list, list]]] = {}
        self._lengths: dict[str, array] = {}
        self._sources: list[_MergeSource] = []
        self._arrays: _PostingArraysWriter | None = None  # (at flush)

    # documents

    def add_document(self, **fields: Any) -> None:
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)

        perdocwriter.start_doc(docnum)
        for fieldname in fieldnames:
            value = fields.get(fieldname)
            if value is None:
                continue
            field = schema[fieldname]
            length = 0
            if field.indexed:
                fieldboost = self._field_boost(fields, fieldname, docboost)
                terms = self._postings.setdefault(fieldname, {})
                scorable = field.scorable
                words_of = getattr(field, "words", None)
                words = words_of(value) if words_of else None
                if words is not None and getattr(field.format, "packed_positions", False):
                    # the project's word fields: postings straight from the analysis's words
                    length = postings_add(words, terms, docnum, field.format.field_boost, fieldboost)
                    if not scorable:
                        length = 0
                elif words is not None:
                    # (a word field of an index written before ``PositionArray``: its own encoding)
                    encode = field.format.encode
                    boost = field.format.field_boost
                    for term, poslist in word_positions(words).items():
                        freq = len(poslist)
                        tbytes = term.encode("utf-8")
                        weight = freq * boost * fieldboost
                        found = terms.get(tbytes)
                        if found is None:
                            terms[tbytes] = ([docnum], [weight], [encode(poslist)])
                        else:
                            found[0].append(docnum)
                            found[1].append(weight)
                            found[2].append(encode(poslist))
                        length += freq
                    if not scorable:
                        length = 0
                else:
                    for tbytes, freq, weight, vbytes in field.index(value):
                        if scorable:
                            length += freq
                        found = terms.get(tbytes)
                        if found is None:
                            terms[tbytes] = ([docnum], [weight * fieldboost], [vbytes])
                        else:
                            found[0].append(docnum)
                            found[1].append(weight * fieldboost)
                            found[2].append(vbytes)
                if length:
                    self._length_set(fieldname, docnum, _length_round(length))
            customval = fields.get(f"_stored_{fieldname}", value)
            perdocwriter.add_field(fieldname, field, customval if field.stored else None, length)
            column = field.column_type
            if column and customval is not None:
                perdocwriter.add_column_value(fieldname, column, field.to_column_value(customval))
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _length_set(self, fieldname: str, docnum: int, length: int) -> None:
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = self._lengths[fieldname] = array("I")
        index = docnum - self.docbase
        if len(lengths) <= index:
            lengths.extend(itertools.repeat(0, index + 1 - len(lengths)))
        lengths[index] = length

    # whole segments

    def segment_add(self, reader: Any) -> np.ndarray:
        """Append the live documents of one segment's ``reader`` (postings written at flush).
        Returns where each of its documents went (-1: deleted, left out)."""
        self._check_state()
        basedoc = self.docnum
        fieldnames = set(self.schema.names()) | {n for n in reader.indexed_field_names() if n in self.schema}
        mapped = self.write_per_doc(fieldnames, reader)
        size = reader.doc_count_all()
        if mapped is None:
            docmap = np.arange(basedoc, basedoc + size, dtype=np.int64)
        else:
            docmap = np.full(size, -1, dtype=np.int64)
            if mapped:
                docmap[np.fromiter(mapped.keys(), dtype=np.int64)] = np.fromiter(
                    mapped.values(), dtype=np.int64
                )
        live = np.flatnonzero(docmap >= 0)
        for fieldname in reader.indexed_field_names():
            if fieldname in self.schema and self.schema[fieldname].scorable:
                dfl = reader.doc_field_length
                for old in live.tolist():
                    length = dfl(old, fieldname)
                    if length:
                        self._length_set(fieldname, int(docmap[old]), length)
        self._sources.append(_MergeSource(reader, docmap))
        self._added = True
        return docmap

    def add_reader(self, reader: Any) -> None:
        # Whoosh's merge policies close ``reader`` right after this call; the postings are
        # streamed at flush, so they read the segment through a reader of their own.
        self.segment_add(SegmentReader(reader.storage(), self.schema, reader.segment()))

    # flushing

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        fieldwriter = self.fieldwriter
        fieldnames = set(self._postings)
        for source in self._sources:
            fieldnames.update(n for n in source.reader.indexed_field_names() if n in self.schema)
        self._arrays = _PostingArraysWriter(segment=self.newsegment, storage=self.storage)
        for fieldname in sorted(fieldnames):
            self._field_write(fieldname)
        self._arrays.close()
        fieldwriter.close()

    def _field_write(self, fieldname: str) -> None:
        fieldwriter = self.fieldwriter
        own = self._postings.get(fieldname, {})
        streams = [_tagged(((t, None) for t in sorted(own)), -1)]
        for number, source in enumerate(self._sources):
            if fieldname in source.reader.indexed_field_names():
                streams.append(_tagged(_term_infos(source.reader, fieldname), number))
        known = self._lengths.get(fieldname)
        lengths = list(known) if known else []
        lengths.extend(itertools.repeat(0, self.docnum - self.docbase - len(lengths)))
        fixedsize = self.schema[fieldname].format.fixed_value_size()
        packed = getattr(self.schema[fieldname].format, "packed_positions", False)
        if len(streams) == 1 and _w3_terms_native is not None and (fixedsize is None or fixedsize <= 0):
            self._own_terms_write(fieldname, own, lengths=lengths, packed=packed)
            return
        started = False
        for tbytes, group in itertools.groupby(heapq.merge(*streams, key=_term_of), key=_term_of):
            ids: list = []
            weights: list = []
            values: list = []
            for _t, terminfo, number in group:
                if number < 0:
                    found = own[tbytes]
                    ids.extend(found[0])
                    weights.extend(found[1])
                    values.extend(found[2])
                else:
                    source = self._sources[number]
                    _postings_read(
                        source, terminfo, fixedsize=fixedsize, ids=ids, weights=weights, values=values
                    )
            if not ids:
                continue  # every posting was of a deleted document
            if not started:
                fieldwriter.start_field(fieldname, self.schema[fieldname])
                started = True
                terms = _TermsWriter(fieldwriter, lengths=lengths, base=self.docbase)
            offset = terms.add(tbytes, ids, weights, values)
            self._arrays.add(offset=offset, ids=ids, weights=weights, values=values, packed=packed)
        if started:
            fieldwriter.finish_field()

    def _own_terms_write(self, fieldname: str, own: dict, *, lengths: list, packed: bool) -> None:
        """``_field_write`` of a field only this writer's documents have terms in (no segment
        merged in): the terms in C (``w3_terms``) a few megabytes per call, a term it does
        not write (see ``_postings.c``) by ``_TermsWriter.add``. The same bytes either way."""
        keys = sorted(own)
        if not keys:
            return
        fieldwriter = self.fieldwriter
        fieldwriter.start_field(fieldname, self.schema[fieldname])
        terms = _TermsWriter(fieldwriter, lengths=lengths, base=self.docbase)
        done = 0
        while done < len(keys):
            written = terms.add_many(keys, own, first=done, arrays=self._arrays, packed=packed)
            if written == done:  # (the C writer stopped before this term)
                tbytes = keys[done]
                ids, weights, values = (list(part) for part in own[tbytes])
                if ids:
                    offset = terms.add(tbytes, ids, weights, values)
                    self._arrays.add(offset=offset, ids=ids, weights=weights, values=values, packed=packed)
                written += 1
            done = written
        fieldwriter.finish_field()

    # committing

    def _commit_toc(self, segments: list) -> None:
        toc = whoosh.index.TOC(self.schema, segments, self.generation)
        toc.write(self.storage, self.indexname)
        files_clean(
            self.storage,
            self.indexname,
            generation=self.generation,
            segments=segments,
            keep=self._protected(),
        )

    def _finish(self) -> None:
        # Whoosh's writer removes the index's temporary folder here, but every writer of the
        # index (a merge, the build's processes) keeps its column files there while it works,
        # under one shared name; each deletes its own files, so the folder is left in place.
        if self.writelock:
            self.writelock.release()
        self.is_closed = True

    def _close_segment(self) -> None:
        super()._close_segment()
        for source in self._sources:
            source.reader.close()
        self._sources = []


def _tagged(items: Any, number: int) -> Any:
    """(term, term info, source number) triples, for merging sorted term streams (-1: the
    writer's own postings)."""
    return ((term, info, number) for term, info in items)


def _term_of(item: tuple) -> bytes:
    return item[0]


def _term_infos(reader: Any, fieldname: str) -> Any:
    """(term, W3TermInfo) of one field of a segment, read in order from its term file.

    Looking each term up by name (``reader.postings``) costs a hash probe and a matcher per
    term, most of a merge's time when most terms have one or two postings."""
    terms = reader._terms
    for (name, tbytes), info in terms.items_from(fieldname, b""):
        if name != fieldname:
            return
        yield tbytes, info


_BLOCK_MAGIC = WHOOSH3_HEADER_MAGIC
_INT = struct.Struct(">i")
_TERM_INFO = W3TermInfo._struct
_EXTENT = struct.Struct("!qi")  # (a term info's offset and length: pack_long + pack_int)
_ROW_LENGTHS = whoosh_filetables._lengths


def _postings_read(
    source: _MergeSource, info: Any, *, fixedsize: int | None, ids: list, weights: list, values: list
) -> None:
    """Append one term's postings in ``source`` (live documents only, renumbered)."""
    docmap = source.docmap_list
    if info.is_inlined():
        block_ids, block_weights, block_values = info.inlined_postings()
        _block_append(
            docmap,
            np.asarray(block_ids, dtype=np.int64),
            list(block_weights),
            list(block_values),
            ids=ids,
            weights=weights,
            values=values,
        )
        return
    offset, length = info.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes keeps struct.unpack's tuple (2.7.4)
        length = length[0]
    data = source.reader._terms._postfile.get(offset, length)
    if data[:4] != _BLOCK_MAGIC:
        raise ValueError("unexpected posting block header")
    buffer = io.BytesIO(data)
    position = 4
    while position < len(data):
        size = _INT.unpack_from(data, position)[0]
        buffer.seek(position + 4)
        end = position + 4 + abs(size)
        count, _maxid, _maxweight, compression, _minlen, _maxlen = pickle.load(buffer)
        body = data[buffer.tell() : end]
        if compression:
            body = zlib.decompress(body)
        mini_ids, mini_weights, mini_values = pickle.loads(body)
        block_ids = itertools.accumulate(mini_ids)  # delta-encoded
        if mini_weights is None:
            block_weights = [1.0] * count
        elif isinstance(mini_weights, float):
            block_weights = [mini_weights] * count
        else:
            block_weights = list(mini_weights)
        if fixedsize is None or fixedsize < 0:
            block_values = list(mini_values)
        elif fixedsize == 0:
            block_values = [None] * count
        else:
            block_values = [mini_values[i : i + fixedsize] for i in range(0, len(mini_values), fixedsize)]
        _block_append(docmap, block_ids, block_weights, block_values, ids=ids, weights=weights, values=values)
        position = end
        if size < 0:
            break


def _block_append(
    docmap: list[int],
    block_ids: Any,
    block_weights: list,
    block_values: list,
    *,
    ids: list,
    weights: list,
    values: list,
) -> None:
    new = [docmap[i] for i in block_ids]
    if -1 not in new:
        ids.extend(new)
        weights.extend(block_weights)
        values.extend(block_values)
        return
    for docnum, weight, value in zip(new, block_weights, block_values, strict=True):
        if docnum >= 0:
            ids.append(docnum)
            weights.append(weight)
            values.append(value)


def segment_write(writer: FastSegmentWriter) -> Any:
    """Write ``writer``'s segment files without touching the index's table of contents (a
    merge publishes the segment itself, under the lock); returns the new segment."""
    try:
        segment = writer._finalize_segment()
    finally:
        writer._finish()
    return segment


class _SegmentName:
    def __init__(self, name: str) -> None:
        self._name = name

    def segment_id(self) -> str:
        return self._name


def files_clean(storage: Any, indexname: str, *, generation: int, segments: list, keep: set[str]) -> None:
    """Whoosh's ``clean_files``, sparing the files of segments named in ``keep`` (being written)."""
    whoosh.index.clean_files(storage, indexname, generation, [*segments, *map(_SegmentName, keep)])


# --- posting arrays: each term's postings as plain arrays, read in place ----------------------
#
# A W3 posting block is a pickled, compressed tuple of ids, weights and positions: reading a
# term's documents means unpickling its positions too, block by block, in Python (most of a
# first query's time in a fresh process). Beside the W3 files, ``FastSegmentWriter`` writes
# every term's postings as little-endian arrays, more files of the compound segment:
#   .npo  magic, term count, the terms' W3 posting offsets (sorted), where each term's
#         postings start, where each term's positions start
#   .npi  uint32 document numbers, term after term
#   .npw  float32 weights (term frequencies), same order
#   .npc  uint32 number of positions of each posting (0 in fields without packed positions)
#   .npp  uint32 positions, posting after posting (fields with packed positions only)
# A term is found by its W3 posting offset (its term info holds it), so nothing per term is
# kept in memory; the arrays are views of the mapped segment. Segments written by Whoosh's
# own writer have no such files and are read through the W3 blocks as before.

_ARRAYS_MAGIC = b"NPO2"


class _PostingArraysWriter:
    # Appended to in-memory arrays and written a few megabytes at a time: per term, that
    # costs a fraction of the numpy conversions and four small writes it took to write each
    # term straight away (a segment of 500 articles has some 25,000 terms per field), and a
    # large merge still holds no more than one buffer's worth.
    BUFFER_POSTINGS = 1 << 16

    def __init__(self, *, segment: Any, storage: Any) -> None:
        self._segment, self._storage = segment, storage
        self._files = {ext: segment.create_file(storage, ext) for ext in (".npi", ".npw", ".npc", ".npp")}
        self._buffers_new()
        self._offsets = array("q")
        self._starts = array("q", [0])
        self._position_starts = array("q", [0])

    def _buffers_new(self) -> None:
        self._ids, self._weights, self._counts = array("I"), array("f"), array("I")
        self._positions: list[bytes] = []

    def _buffers_write(self) -> None:
        files = self._files
        for ext, values in ((".npi", self._ids), (".npw", self._weights), (".npc", self._counts)):
            if sys.byteorder != "little":  # pragma: no cover - the files are little-endian everywhere
                values.byteswap()
            files[ext].write(values.tobytes())
        files[".npp"].write(b"".join(self._positions))
        self._buffers_new()

    def add(self, *, offset: int, ids: list, weights: list, values: list, packed: bool) -> None:
        self._ids.extend(ids)
        self._weights.extend(weights)
        positions = 0
        if packed:
            # (each value is already the posting's positions as little-endian uint32s)
            counts = [len(v) >> 2 for v in values]
            self._positions.extend(values)
            positions = sum(counts)
            self._counts.extend(counts)
        else:
            self._counts.extend(itertools.repeat(0, len(ids)))
        self._offsets.append(offset)
        self._starts.append(self._starts[-1] + len(ids))
        self._position_starts.append(self._position_starts[-1] + positions)
        if len(self._ids) >= self.BUFFER_POSTINGS:
            self._buffers_write()

    def extend(self, *, ids: bytes, weights: bytes, counts: bytes, positions: bytes, ends: tuple) -> None:
        """``add`` for many terms at once, from ``w3_terms``: the arrays' bytes as ``array``
        holds them, and per term its offset and where its postings and positions end."""
        self._ids.frombytes(ids)
        self._weights.frombytes(weights)
        self._counts.frombytes(counts)
        self._positions.append(positions)
        for values, data in zip((self._offsets, self._starts, self._position_starts), ends, strict=True):
            values.frombytes(data)
        if len(self._ids) >= self.BUFFER_POSTINGS:
            self._buffers_write()

    def ends(self) -> tuple[int, int]:
        """Where the postings and the positions written so far end."""
        return self._starts[-1], self._position_starts[-1]

    def close(self) -> None:
        self._buffers_write()
        for handle in self._files.values():
            handle.close()
        head = self._segment.create_file(self._storage, ".npo")
        head.write(_ARRAYS_MAGIC + struct.pack("<q", len(self._offsets)))
        for values in (self._offsets, self._starts, self._position_starts):
            head.write(np.asarray(values, dtype="<i8").tobytes())
        head.close()


class PostingArrays:
    """One segment's posting arrays (see above)."""

    def __init__(self, *, head: np.ndarray, files: dict[str, np.ndarray]) -> None:
        count = int(head[:8].view("<i8")[0])
        tables = head[8 : 8 + 8 * (3 * count + 2)].view("<i8")
        # A copy of the one table that is searched: the file's place in the compound segment
        # leaves it unaligned, and numpy copies an unaligned array on every searchsorted
        # (20× slower). 8 bytes per term in each process.
        self.offsets = np.array(tables[:count], dtype=np.int64)
        self.starts = tables[count : 2 * count + 1]
        self.position_starts = tables[2 * count + 1 :]
        self.ids, self.weights = files[".npi"], files[".npw"]
        self.counts, self.positions = files[".npc"], files[".npp"]

    def _term(self, offset: int) -> int | None:
        at = int(np.searchsorted(self.offsets, offset))
        if at >= len(self.offsets) or self.offsets[at] != offset:
            return None
        return at

    def postings(self, offset: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(document numbers, weights) of the term whose W3 postings start at ``offset``."""
        at = self._term(offset)
        if at is None:
            return None
        start, end = int(self.starts[at]), int(self.starts[at + 1])
        return self.ids[start:end], self.weights[start:end]

    def occurrences(self, offset: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(document number, position) of every occurrence of the term, or None when its
        field keeps no packed positions."""
        at = self._term(offset)
        if at is None:
            return None
        start, end = int(self.starts[at]), int(self.starts[at + 1])
        first, last = int(self.position_starts[at]), int(self.position_starts[at + 1])
        counts = self.counts[start:end]
        if last == first and end > start:
            return None
        # uint32, and the positions a view of the mapped file: the caller widens what it
        # combines, so what a process keeps of a common word's positions stays small
        docs = np.repeat(self.ids[start:end], counts.astype(np.int64))
        return docs, self.positions[first:last]


def _file_array(storage: Any, segment: Any, ext: str, dtype: str) -> np.ndarray:
    handle = segment.open_file(storage, ext)
    buf = getattr(handle, "_buf", None)
    # a mapped compound segment: a view of its pages; otherwise the file's bytes
    return np.frombuffer(buf if buf is not None else handle.read(), dtype=dtype)


_NO_ARRAYS = object()


def posting_arrays(leaf: Any) -> PostingArrays | None:
    """The posting arrays of a segment reader, or None for a segment written without them."""
    found = getattr(leaf, "_portal_posting_arrays", _NO_ARRAYS)
    if found is not _NO_ARRAYS:
        return found
    found = None
    segment, storage = leaf.segment(), getattr(leaf, "_storage", None)
    if segment is not None and storage is not None:
        try:
            head = _file_array(storage, segment, ".npo", "u1")
            if bytes(head[:4]) == _ARRAYS_MAGIC:
                dtypes = {".npi": "<u4", ".npw": "<f4", ".npc": "<u4", ".npp": "<u4"}
                files = {ext: _file_array(storage, segment, ext, dtype) for ext, dtype in dtypes.items()}
                found = PostingArrays(head=head[4:], files=files)
        except (NameError, KeyError, OSError):
            found = None  # (Whoosh's storages say "no such file" in all three ways)
    leaf._portal_posting_arrays = found
    return found


# A block whose postings take fewer bytes than this is stored as it is: zlib's header and
# checksum make a small block longer, and compressing the many small blocks of a segment
# was a sixth of an index commit's time. (Each block records whether it is compressed;
# readers of either kind of block are Whoosh's own.)
COMPRESS_MIN_BYTES = 512
# What one call of the C term writer gathers before it returns it to be written (postings,
# arrays): a merge-sized field is written a few megabytes at a time, as in Python.
TERMS_CALL_BYTES = 1 << 22


class _TermsWriter:
    """One field's terms straight into a W3 segment's postings and terms files.

    Writes what ``W3FieldWriter.start_term`` / ``add`` / ``finish_term`` write for a term
    (its blocks, its term info, its row of the ordered hash file), the same bytes, in one
    call per term: through Whoosh's objects that was some forty Python calls per term, a
    third of an index commit, where most terms have a posting or two. The caller has
    called ``start_field``; the field writer's other state is left as it was.
    """

    def __init__(self, fieldwriter: Any, *, lengths: list, base: int) -> None:
        postwriter = fieldwriter._postwriter
        if postwriter._inlinelimit > 1 or postwriter._byteids:
            raise ValueError("_TermsWriter writes neither inlined postings nor byte ids")
        self._postfile = fieldwriter._postfile
        self._tindex = fieldwriter._tindex
        self._prefix = pack_ushort(fieldwriter._fieldid)
        self._limit = postwriter._blocklimit
        self._level = postwriter._compression
        self._fixedsize = fieldwriter._format.fixed_value_size()
        self._lengths, self._base = lengths, base

    def _block_encode(self, ids: list, weights: list, values: list) -> tuple:
        """(pickled block, sum of weights, min length, max length, max weight, size): in C
        (``_postings.c``) when it can, else ``_block_encode_python``, the same bytes."""
        fixedsize = self._fixedsize
        if _w3_block_native is not None and (fixedsize is None or fixedsize <= 0):
            encoded = _w3_block_native(
                ids, weights, values, self._lengths, self._base, fixedsize is None or fixedsize < 0
            )
            if encoded is not None:
                return encoded
        return self._block_encode_python(ids, weights, values)

    def _block_encode_python(self, ids: list, weights: list, values: list) -> tuple:
        weights32 = array("f", weights)
        values = [v for v in values if v]
        maxweight = max(0, max(weights))
        base, lengths = self._base, self._lengths
        known = [n for n in (lengths[i - base] for i in ids) if n > 0]
        minlength, maxlength = (min(known), max(known)) if known else (None, 0)
        first = weights32[0]
        if weights32.count(first) == len(weights32):
            mini_weights = None if first == 1.0 else first
        else:
            mini_weights = tuple(weights32)
        fixedsize = self._fixedsize
        if fixedsize is None or fixedsize < 0:
            mini_values: Any = tuple(values)
        elif fixedsize == 0:
            mini_values = None
        else:
            mini_values = b"".join(values)
        deltas = tuple(map(operator.sub, ids, [0, *ids[:-1]]))
        data = pickle.dumps((deltas, mini_weights, mini_values), 2)
        size = 8 * len(ids) + sum(map(len, values))
        return data, sum(weights32), minlength, maxlength, maxweight, size

    def _block(self, ids: list, weights: list, values: list, *, last: bool) -> tuple:
        """(bytes, sum of weights, min length, max length, max weight) of one block."""
        data, weight, minlength, maxlength, maxweight, size = self._block_encode(ids, weights, values)
        compression = self._level if size >= COMPRESS_MIN_BYTES else 0
        if compression:
            data = zlib.compress(data, compression)
        info = pickle.dumps(
            (len(ids), ids[-1], maxweight, compression, length_to_byte(minlength), length_to_byte(maxlength)),
            2,
        )
        length = len(info) + len(data)
        out = b"".join((_INT.pack(-length if last else length), info, data))
        return out, weight, minlength, maxlength, maxweight

    def add(self, tbytes: bytes, ids: list, weights: list, values: list) -> int:
        """Write one term's postings (sorted by docnum); returns where they start in the
        postings file (the offset its term info holds)."""
        postfile = self._postfile
        offset = postfile.tell()
        limit, total = self._limit, len(ids)
        if total <= limit:
            block, weight, minlength, maxlength, maxweight = self._block(ids, weights, values, last=True)
            chunks = [_BLOCK_MAGIC, block]
        else:
            chunks = [_BLOCK_MAGIC]
            weight, minlength, maxlength, maxweight = 0.0, None, 0, 0
            for start in range(0, total, limit):
                end = min(start + limit, total)
                block, bweight, bmin, bmax, bmaxweight = self._block(
                    ids[start:end], weights[start:end], values[start:end], last=end == total
                )
                chunks.append(block)
                # (as ``W3TermInfo.add_block`` sums them up)
                weight += bweight
                minlength = bmin if minlength is None else min(minlength, bmin)
                maxlength, maxweight = max(maxlength, bmax), max(maxweight, bmaxweight)
        postings = b"".join(chunks)
        postfile.write(postings)
        info = _TERM_INFO.pack(
            0,
            weight,
            total,
            0 if minlength is None else length_to_byte(minlength),
            length_to_byte(maxlength),
            maxweight,
            ids[0],
            ids[-1],
        ) + _EXTENT.pack(offset, len(postings))
        self._row_add(self._prefix + tbytes, info)
        return offset

    def add_many(
        self, keys: list, own: dict, *, first: int, arrays: _PostingArraysWriter, packed: bool
    ) -> int:
        """``add`` (and ``arrays.add``) for ``keys[first:]``, their postings in ``own``, in C,
        a few megabytes at a time; returns the index of the next term to write: ``first`` when
        the C writer leaves that term to ``add``."""
        postfile, tindex = self._postfile, self._tindex
        fixedsize = self._fixedsize
        starts_at, positions_at = arrays.ends()
        done, postings, rows, positions, lastkey, *arrays_out = _w3_terms_native(
            keys,
            own,
            first,
            self._lengths,
            self._base,
            fixedsize is None or fixedsize < 0,
            self._limit,
            self._level,
            COMPRESS_MIN_BYTES,
            zlib.compress,
            self._prefix,
            tindex.lastkey,
            postfile.tell(),
            tindex.dbfile.tell(),
            tindex.buckets,
            packed,
            starts_at,
            positions_at,
            TERMS_CALL_BYTES,
        )
        if done > first:
            postfile.write(postings)
            tindex.dbfile.write(rows)
            _growable_extend(tindex.index, positions)
            tindex.lastkey = lastkey
            ids, weights, counts, packed_positions, *ends = arrays_out
            arrays.extend(
                ids=ids, weights=weights, counts=counts, positions=packed_positions, ends=tuple(ends)
            )
        return done

    def _row_add(self, key: bytes, value: bytes) -> None:
        # ``OrderedHashWriter.add``: rows in key order, each found by its key's MD5 hash
        tindex = self._tindex
        if key <= tindex.lastkey:
            raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{key!r}")
        dbfile = tindex.dbfile
        position = dbfile.tell()
        tindex.index.append(position)
        dbfile.write(b"".join((_ROW_LENGTHS.pack(len(key), len(value)), key, value)))
        digest = int.from_bytes(hashlib.md5(key).digest()[-4:], "big")  # (whoosh's md5_hash)
        tindex.buckets[digest & 255].append((digest, position))
        tindex.lastkey = key


def _growable_extend(growable: Any, values: list[int]) -> None:
    """``GrowableArray.extend`` (the term index's row positions) without its Python call per
    value. The values increase, so the last decides the type the array must have, the one
    appending them one by one would have ended with."""
    if not values:
        return
    if isinstance(growable.array, array):
        try:
            array(growable.array.typecode, values[-1:])
        except OverflowError:
            growable._retype(values[-1])
    growable.array.extend(values)
