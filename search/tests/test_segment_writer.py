"""The segment writer and the merges, on real Whoosh indexes in temp dirs with the project's schema.

* ``FastSegmentWriter`` writes the very files Whoosh's own writer writes (byte for byte), on
  made-up documents and on the real corpus;
* a merge gives the postings, stored fields, lengths and columns of a build of the live
  documents in one segment;
* a merge runs beside the writer: deletions and commits made while it writes survive, its
  half-written files survive those commits, a held lock stops only its swap, and a merge
  killed with SIGKILL leaves the index as it was and its files to the next commit to clean.
"""

from __future__ import annotations

import datetime
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from haystack import connections
from whoosh import index as whoosh_index
from whoosh.index import LockError
from whoosh.writing import SegmentWriter

from search.engines.whoosh import _internals, merging
from search.engines.whoosh.writing import documents_write, writer_open

WORDS = [
    "数据", "安全", "出境", "评估", "个人信息", "保护", "网络", "平台", "算法", "治理",
    "监管", "标准", "试点", "合规", "the", "data", "act", "2024", "第十二条", "人工智能",
]  # fmt: skip
TAGS = ["数据出境", "算法治理", "网络安全", "个人信息"]
SOURCES = ["网信办", "工业和信息化部", "新华社"]


def _schema():
    backend = connections["default"].get_backend()
    backend.setup()
    return backend.schema


def made_up(count: int, *, seed: int = 7, start: int = 1) -> list[dict]:
    """Documents of the project's schema: words repeated unevenly, facets, dates, stories."""
    rng = random.Random(seed)
    docs = []
    for number in range(start, start + count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(1, 120))]
        published = datetime.datetime(2020, 1, 1) + datetime.timedelta(days=rng.randint(0, 1500))
        docs.append(
            {
                "id": f"articles.article.{number}",
                "django_ct": "articles.article",
                "django_id": str(number),
                "text": " ".join(words),
                "title": " ".join(rng.sample(WORDS, 3)),
                "source": rng.choice(SOURCES),
                "source_exact": rng.choice(SOURCES),
                "tags": rng.sample(TAGS, rng.randint(0, 2)),
                "tag_exact": rng.sample(TAGS, rng.randint(0, 2)),
                "published": published,
                "month": published.strftime("%Y-%m"),
                "year": str(published.year),
                "story": rng.randint(1, count // 3 + 1),
                "updated": f"2026-01-{number % 28 + 1:02d}",
            }
        )
    return docs


def from_corpus(folder: Path, count: int) -> list[dict]:
    docs = []
    for number, path in enumerate(sorted(folder.glob("*.md"))[:count], start=1):
        body = path.read_text(encoding="utf-8", errors="replace")
        docs.append(
            {
                "id": f"articles.article.{number}",
                "django_ct": "articles.article",
                "django_id": str(number),
                "text": body,
                "title": path.stem,
                "source_exact": "corpus",
                "updated": "2026-01-01",
            }
        )
    return docs


def _index(path: Path):
    path.mkdir(parents=True, exist_ok=True)
    return whoosh_index.create_in(str(path), _schema())


def _write(ix, docs: list[dict], **commit) -> None:
    writer = writer_open(ix, timeout=5)
    for doc in docs:
        writer.add_document(**doc)
    writer.commit(**commit)


def _segment_files(path: Path) -> dict[str, bytes]:
    """The new segment's files by extension (segment ids are random)."""
    return {
        p.name.split(".", 1)[1]: p.read_bytes()
        for p in path.iterdir()
        if p.name.startswith("MAIN_") and "." in p.name and "WRITELOCK" not in p.name
    }


def _assert_same_files(tmp_path: Path, docs: list[dict]) -> None:
    for name, writer_class in (("whoosh", SegmentWriter), ("ours", _internals.FastSegmentWriter)):
        writer = writer_class(_index(tmp_path / name), compound=False)
        for doc in docs:
            writer.add_document(**doc)
        writer.commit(merge=False)
    expected, written = _segment_files(tmp_path / "whoosh"), _segment_files(tmp_path / "ours")
    # ours adds the posting arrays beside Whoosh's files (checked below)
    assert set(written) == set(expected) | {"npo", "npi", "npw", "npc", "npp"}
    assert {"pst", "trm"} <= set(written)
    for ext in expected:
        assert written[ext] == expected[ext], f"{ext} differs"
    _assert_arrays_match_blocks(whoosh_index.open_dir(str(tmp_path / "ours")))


def _assert_arrays_match_blocks(ix) -> int:
    """Every term's posting arrays hold what its W3 blocks hold; returns how many terms."""
    checked = with_positions = 0
    with ix.searcher() as searcher:
        for leaf, _offset in searcher.reader().leaf_readers():
            assert _internals.posting_arrays(leaf) is not None
            for fieldname in leaf.indexed_field_names():
                for tbytes in leaf.lexicon(fieldname):
                    ids, weights = _internals.block_postings(leaf, fieldname, tbytes)
                    w3_ids, w3_weights = _internals.block_postings_w3(leaf, fieldname, tbytes)
                    assert ids.tolist() == w3_ids.tolist(), (fieldname, tbytes)
                    assert weights.tolist() == w3_weights.tolist(), (fieldname, tbytes)
                    packed = getattr(leaf.schema[fieldname].format, "packed_positions", False)
                    if packed:
                        docs, positions = _internals.block_positions(leaf, fieldname, tbytes, packed=True)
                        w3 = _internals.block_positions_w3(leaf, fieldname, tbytes, packed=True)
                        assert np.concatenate(docs).tolist() == np.concatenate(w3[0]).tolist()
                        assert np.concatenate(positions).tolist() == np.concatenate(w3[1]).tolist()
                        with_positions += 1
                    checked += 1
    assert checked and with_positions
    return checked


@pytest.fixture
def compress_every_block(monkeypatch):
    # as Whoosh's writer does: then the files must be Whoosh's byte for byte
    monkeypatch.setattr(_internals, "COMPRESS_MIN_BYTES", 0)


def test_files_identical_to_whoosh_writer(tmp_path, compress_every_block):
    _assert_same_files(tmp_path, made_up(400))


def test_files_identical_to_whoosh_writer_on_real_corpus(tmp_path, corpus_dir, compress_every_block):
    _assert_same_files(tmp_path, from_corpus(corpus_dir, 120))


def _c_term_writer():
    if _internals._w3_terms_native is None:
        if os.environ.get("PORTAL_REQUIRE_NATIVE") == "1":
            pytest.fail("search/engines/whoosh/_postings.c is not built: run make native")
        pytest.skip("search/engines/whoosh/_postings.c is not built (make native)")
    return _internals._w3_terms_native


def _segment_files_of(path: Path, docs: list[dict], *, shared: int) -> dict[str, bytes]:
    """One segment of ``docs``; in ``shared`` of the body's terms with several postings the
    second posting's positions are the first's bytes object (the C writer leaves those
    terms to Python, which pickles the object once and refers to it)."""
    writer = _internals.FastSegmentWriter(_index(path), compound=False)
    for doc in docs:
        writer.add_document(**doc)
    body = writer._postings["text"]
    for tbytes in [t for t in sorted(body) if len(body[t][0]) > 1][:shared]:
        values = body[tbytes][2]
        values[1] = values[0]
    writer.commit(merge=False)
    return _segment_files(path)


@pytest.mark.parametrize("budget", [1, _internals.TERMS_CALL_BYTES])
@pytest.mark.parametrize("compress_min", [0, _internals.COMPRESS_MIN_BYTES])
def test_the_c_term_writer_writes_what_the_python_one_does(tmp_path, monkeypatch, budget, compress_min):
    """Every field's terms written by ``w3_terms`` (a term per call, or megabytes per call;
    every block compressed, or the large ones), with terms it leaves to Python among them:
    the segment's files are those the Python term writer makes, byte for byte."""
    native = _c_term_writer()
    calls = []

    def counted(keys, own, first, *args):
        result = native(keys, own, first, *args)
        calls.append((first, result[0]))
        return result

    monkeypatch.setattr(_internals, "TERMS_CALL_BYTES", budget)
    monkeypatch.setattr(_internals, "COMPRESS_MIN_BYTES", compress_min)
    monkeypatch.setattr(_internals, "_w3_terms_native", counted)
    docs = made_up(400)
    ours = _segment_files_of(tmp_path / "c", docs, shared=3)
    monkeypatch.setattr(_internals, "_w3_terms_native", None)
    theirs = _segment_files_of(tmp_path / "python", docs, shared=3)
    assert ours == theirs
    written = sum(done - first for first, done in calls)
    left_to_python = sum(1 for first, done in calls if done == first)
    assert written > 1000 and left_to_python == 3
    if budget == 1:
        assert len(calls) == written + left_to_python  # (one term per call)
    _assert_arrays_match_blocks(whoosh_index.open_dir(str(tmp_path / "c")))


def test_small_blocks_are_stored_uncompressed_and_read_back_by_whoosh_the_same(tmp_path):
    docs = made_up(400)
    indexes = {}
    for name, writer_class in (("whoosh", SegmentWriter), ("ours", _internals.FastSegmentWriter)):
        ix = indexes[name] = _index(tmp_path / name)
        writer = writer_class(ix, compound=False)
        for doc in docs:
            writer.add_document(**doc)
        writer.commit(merge=False)
    theirs, ours = _contents(indexes["whoosh"]), _contents(indexes["ours"])
    assert ours == theirs and len(ours["postings"]) > 10_000
    _assert_arrays_match_blocks(indexes["ours"])
    # the blocks differ only in being stored as they are: the postings file is no longer
    pst = {name: _segment_files(tmp_path / name)["pst"] for name in indexes}
    assert pst["ours"] != pst["whoosh"] and len(pst["ours"]) <= len(pst["whoosh"])


# --- what an index holds, per django id -----------------------------------------------------


def _contents(ix) -> dict:
    """Everything a query can read, keyed by django id instead of docnum."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        ids = {docnum: stored["django_id"] for docnum, stored in reader.iter_docs()}
        postings = {
            (fieldname, text, ids[docnum], weight, value)
            for fieldname, text, docnum, weight, value in reader.iter_postings()
            if docnum in ids
        }
        lengths = {
            (ids[d], name): reader.doc_field_length(d, name)
            for d in ids
            for name in ("text", "title", "source")
        }
        columns = {
            (ids[d], name): reader.column_reader(name)[d]
            for d in ids
            for name in ("story", "published", "month")
        }
        stored = {ids[d]: fields for d, fields in reader.iter_docs()}
    return {"postings": postings, "lengths": lengths, "columns": columns, "stored": stored}


def _delete(ix, django_ids: list[str]) -> None:
    writer = writer_open(ix, timeout=5)
    for django_id in django_ids:
        writer.delete_by_term("id", f"articles.article.{django_id}")
    writer.commit(merge=False)


@pytest.fixture
def small_tiers(settings):
    settings.SEARCH_MERGE_FLOOR_DOCS = 10
    settings.SEARCH_MERGE_FANOUT = 4


def _segmented(path: Path, docs: list[dict], *, parts: int):
    ix = _index(path)
    size = len(docs) // parts
    for part in range(parts):
        _write(ix, docs[part * size : (part + 1) * size if part < parts - 1 else None], merge=False)
    return whoosh_index.open_dir(str(path))


def test_merge_gives_what_one_segment_of_the_live_documents_holds(tmp_path, small_tiers):
    docs = made_up(240)
    gone = ["3", "61", "62", "150", "239"]
    ix = _segmented(tmp_path / "merged", docs, parts=4)
    _delete(ix, gone)
    assert len(ix._segments()) == 4

    result = merging.merge_step(ix, schema=ix.schema, lock_timeout=5)

    assert result is not None and result.merged == 4 and result.documents == 235
    ix = whoosh_index.open_dir(str(tmp_path / "merged"))
    assert [s.doc_count_all() for s in ix._segments()] == [235]
    _assert_arrays_match_blocks(ix)  # renumbered past the deleted documents
    single = _index(tmp_path / "single")
    _write(single, [d for d in docs if d["django_id"] not in gone], merge=False)
    assert _contents(ix) == _contents(single)
    # and as compact: the merge wrote its postings as plain numbers too (numpy's integers,
    # pickled into the blocks, read back the same but made them five times longer)
    sizes = {
        name: sum(p.stat().st_size for p in (tmp_path / name).glob("MAIN_*.seg"))
        for name in ("merged", "single")
    }
    assert sizes["merged"] <= sizes["single"] * 1.01, sizes


def test_merge_keeps_deletions_and_commits_made_while_it_writes(tmp_path, small_tiers, monkeypatch):
    docs = made_up(200)
    ix = _segmented(tmp_path / "ix", docs, parts=4)
    original = _internals.segment_write

    def meanwhile(writer):
        segment = original(writer)  # the merged segment's files are written, not yet in the index
        # another writer deletes from a segment being merged and commits a new document; its
        # commit cleans unused files, and must spare the merge's
        other = writer_open(whoosh_index.open_dir(str(tmp_path / "ix")), timeout=5)
        other.delete_by_term("id", "articles.article.7")
        other.add_document(**made_up(1, seed=99, start=500)[0])
        other.commit(merge=False)
        return segment

    monkeypatch.setattr(_internals, "segment_write", meanwhile)
    result = merging.merge_step(ix, schema=ix.schema, lock_timeout=5)

    assert result is not None
    ix = whoosh_index.open_dir(str(tmp_path / "ix"))
    contents = _contents(ix)
    assert "7" not in contents["stored"] and "500" in contents["stored"]
    assert len(contents["stored"]) == 200
    with ix.searcher() as searcher:
        assert searcher.doc_count() == 200
    # nothing left but the table of contents and the live segments' files
    live = {s.segment_id() for s in ix._segments()}
    leftovers = [
        p.name
        for p in (tmp_path / "ix").iterdir()
        if p.name.startswith("MAIN_") and p.name.split(".")[0] not in live and "WRITELOCK" not in p.name
    ]
    assert leftovers == []
    assert not [p for p in (tmp_path / "ix").iterdir() if p.name.startswith(merging.MARKER_PREFIX)]


def test_a_held_write_lock_stops_the_merge_and_leaves_the_index_as_it_was(tmp_path, small_tiers):
    ix = _segmented(tmp_path / "ix", made_up(120), parts=4)
    before = _contents(ix)
    generation = ix.latest_generation()
    lock = ix.lock("WRITELOCK")
    assert lock.acquire()
    try:
        started = time.monotonic()
        with pytest.raises(LockError):
            merging.merge_step(ix, schema=ix.schema, lock_timeout=0.5)
        assert time.monotonic() - started < 30
        assert ix.latest_generation() == generation  # the index is as it was
    finally:
        lock.release()
    assert not [p for p in (tmp_path / "ix").iterdir() if p.name.startswith(merging.MARKER_PREFIX)]
    assert merging.merge_step(ix, schema=ix.schema, lock_timeout=5) is not None
    assert _contents(whoosh_index.open_dir(str(tmp_path / "ix"))) == before


def _marker_slowed(monkeypatch, *, chosen: threading.Event | None = None) -> None:
    """Half a second between a merge's choice of segments and its marker (``chosen`` is set
    when it has chosen)."""
    original = merging._marker_write

    def slowed(storage, name, *, sources):
        if chosen is not None:
            chosen.set()
        time.sleep(0.5)
        original(storage, name, sources=sources)

    monkeypatch.setattr(merging, "_marker_write", slowed)


def _merge_in_thread(path: Path, schema, outcome: dict, key: str, start: threading.Barrier | None = None):
    def merge():
        if start is not None:
            start.wait()
        try:
            outcome[key] = merging.merge_step(whoosh_index.open_dir(str(path)), schema=schema, lock_timeout=5)
        except Exception as exc:  # reported by the test's assertion
            outcome[key] = exc

    thread = threading.Thread(target=merge)
    thread.start()
    return thread


def test_two_merges_at_once_take_different_groups(tmp_path, small_tiers, monkeypatch):
    # eight segments of one tier, two groups of four; two merges start together (two threads
    # of a threaded server merging after their commits, or the processes of a rebuild)
    path = tmp_path / "ix"
    ix = _segmented(path, made_up(80), parts=8)
    before = _contents(ix)
    _marker_slowed(monkeypatch)
    outcome: dict = {}
    start = threading.Barrier(2)
    threads = [_merge_in_thread(path, ix.schema, outcome, key, start) for key in ("a", "b")]
    for thread in threads:
        thread.join(timeout=60)

    # each merged a group of its own: neither merged the other's (and found it gone at its swap)
    assert sorted(outcome) == ["a", "b"], outcome
    assert all(isinstance(r, merging.MergeResult) and r.merged == 4 for r in outcome.values()), outcome
    ix = whoosh_index.open_dir(str(path))
    assert sorted(s.doc_count_all() for s in ix._segments()) == [40, 40]
    assert _contents(ix) == before


def test_a_commit_while_a_merge_chooses_leaves_the_merge_its_segments(tmp_path, settings, monkeypatch):
    settings.SEARCH_MERGE_FLOOR_DOCS = 10
    settings.SEARCH_MERGE_FANOUT = 4
    settings.SEARCH_MERGE_INLINE_DOCS = 1000  # a commit would merge the full tier itself
    path = tmp_path / "ix"
    ix = _segmented(path, made_up(40), parts=4)
    chosen = threading.Event()
    _marker_slowed(monkeypatch, chosen=chosen)
    outcome: dict = {}
    thread = _merge_in_thread(path, ix.schema, outcome, "merge")
    try:
        assert chosen.wait(timeout=30)
        # a commit now: had it merged the four segments inline, it would have deleted their
        # files before the merge opened them
        documents_write(
            writer=writer_open(whoosh_index.open_dir(str(path)), timeout=5),
            searcher_for=lambda _w: None,
            docs=made_up(1, seed=5, start=300),
            remove_ids=[],
        )
    finally:
        thread.join(timeout=60)

    assert isinstance(outcome["merge"], merging.MergeResult), outcome
    assert outcome["merge"].merged == 4
    ix = whoosh_index.open_dir(str(path))
    assert sorted(s.doc_count_all() for s in ix._segments()) == [1, 40]
    assert set(_contents(ix)["stored"]) == {str(n) for n in range(1, 41)} | {"300"}


KILLED_MERGE = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from whoosh import index as whoosh_index
    from search.engines.whoosh import _internals, merging
    original = _internals.segment_write
    def stalled(writer):
        segment = original(writer)
        print("written", flush=True)
        time.sleep(120)
    _internals.segment_write = stalled
    ix = whoosh_index.open_dir(sys.argv[1])
    merging.merge_step(ix, schema=ix.schema, lock_timeout=5)
    """
)


def test_a_merge_killed_midway_loses_nothing(tmp_path, small_tiers):
    path = tmp_path / "ix"
    ix = _segmented(path, made_up(120), parts=4)
    before = _contents(ix)
    generation = ix.latest_generation()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.test_settings",
        "SEARCH_MERGE_FLOOR_DOCS": "10",
        "SEARCH_MERGE_FANOUT": "4",
    }
    merge = subprocess.Popen(
        [sys.executable, "-c", KILLED_MERGE, str(path)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert merge.stdout.readline().strip() == "written"
        files_while_merging = {p.name for p in path.iterdir()}
        merge.send_signal(signal.SIGKILL)
        merge.wait(timeout=30)
    finally:
        if merge.poll() is None:
            merge.kill()
    # the dead merge's marker and its segment were on disk; the index never saw them
    assert any(name.startswith(merging.MARKER_PREFIX) for name in files_while_merging)
    ix = whoosh_index.open_dir(str(path))
    assert ix.latest_generation() == generation
    assert _contents(ix) == before

    # its process is gone: the next commit cleans what it wrote, and merging works again
    _write(ix, made_up(1, seed=3, start=900), merge=False)
    names = {p.name for p in path.iterdir()}
    assert not any(name.startswith(merging.MARKER_PREFIX) for name in names)
    live = {s.segment_id() for s in whoosh_index.open_dir(str(path))._segments()}
    assert {n.split(".")[0] for n in names if n.startswith("MAIN_") and "WRITELOCK" not in n} <= live
    assert merging.merge_step(whoosh_index.open_dir(str(path)), schema=ix.schema, lock_timeout=5)


def test_commits_merge_small_groups_only(tmp_path, settings):
    settings.SEARCH_MERGE_FLOOR_DOCS = 50
    settings.SEARCH_MERGE_FANOUT = 4
    settings.SEARCH_MERGE_INLINE_DOCS = 100
    ix = _index(tmp_path / "ix")

    def commit(docs, remove_ids=()):
        documents_write(
            writer=writer_open(ix, timeout=5),
            searcher_for=lambda _w: None,
            docs=docs,
            remove_ids=list(remove_ids),
        )
        return [s.doc_count_all() for s in whoosh_index.open_dir(str(tmp_path / "ix"))._segments()]

    written = []
    for number in range(1, 5):
        written += made_up(2, seed=number, start=number * 10)
        assert len(commit(written[-2:])) == number
    # tier 0 is full (4 segments): the next commit merges them into its own, leaving out a
    # document it deletes from one of them (9 documents)
    last = made_up(2, seed=5, start=50)
    assert commit(last, remove_ids=["articles.article.20"]) == [9]
    single = _index(tmp_path / "single")
    _write(single, [d for d in [*last, *written] if d["django_id"] != "20"], merge=False)
    assert _contents(whoosh_index.open_dir(str(tmp_path / "ix"))) == _contents(single)

    # segments of 40 documents: four of them are 160 documents, more than a commit merges
    for number in range(5):
        sizes = commit(made_up(40, seed=10 + number, start=1000 + number * 100))
    assert len(sizes) >= 5
    assert merging.merge_choose(whoosh_index.open_dir(str(tmp_path / "ix"))._segments())
