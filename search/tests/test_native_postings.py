"""The index writer's C postings (``_postings.c``) against the Python reference.

``postings_add`` turns one document's words into its postings (document, weight, packed
positions per distinct word, in order of first occurrence); the C version must give the
very same dict, in the same order, with the same float weights, as
``postings_add_python``, on made-up words and on every real file.
"""

from __future__ import annotations

import importlib
import os
import random
from pathlib import Path

import pytest
from whoosh.filedb.filetables import md5_hash

from articles.parsing import parse_article
from search.engines.whoosh import _internals
from zhtext.analysis import text_terms


def _native():
    if not _internals.native_postings_available():
        if os.environ.get("PORTAL_REQUIRE_NATIVE") == "1":
            pytest.fail("search/engines/whoosh/_postings.c is not built: run make native")
        pytest.skip("search/engines/whoosh/_postings.c is not built (make native)")
    return _internals._postings_add_native


def _both(words, *, start=None, docnum=7, boost=1.0, fieldboost=1.0):
    native = _native()
    out = []
    for add in (native, _internals.postings_add_python):
        postings = {k: (list(a), list(b), list(c)) for k, (a, b, c) in (start or {}).items()}
        length = add(words, postings, docnum, boost, fieldboost)
        out.append((length, list(postings.items())))
    return out


def test_made_up_words_give_the_same_postings_in_the_same_order():
    pool = ["数据", "安全", "数据安全法", "𠀀𠀁", "ai", "5g", "", "个人信息", "的"]
    rng = random.Random(20261207)
    for _ in range(300):
        words = [rng.choice(pool) for _ in range(rng.randint(0, 400))]
        start = {"数据".encode(): ([1], [2.0], [b"\x00\x00\x00\x00"])} if rng.random() < 0.5 else None
        native, python = _both(
            words, start=start, docnum=rng.randint(0, 10**6), fieldboost=rng.choice([1.0, 2.5])
        )
        assert native == python


def test_positions_are_little_endian_uint32_and_weights_the_frequency_times_the_boosts():
    (length, postings), _python = _both(["甲", "乙", "甲"], docnum=3, boost=1.0, fieldboost=1.5)
    assert length == 3
    assert postings == [
        ("甲".encode(), ([3], [3.0], [b"\x00\x00\x00\x00\x02\x00\x00\x00"])),
        ("乙".encode(), ([3], [1.5], [b"\x01\x00\x00\x00"])),
    ]


def test_bad_input_is_refused_not_crashed():
    native = _native()
    with pytest.raises(TypeError):
        native(["甲", 3], {}, 0, 1.0, 1.0)
    with pytest.raises(TypeError):
        native(["甲"], [], 0, 1.0, 1.0)
    with pytest.raises(UnicodeEncodeError):
        native(["\ud800"], {}, 0, 1.0, 1.0)  # (a lone surrogate has no UTF-8, as in Python)


@pytest.mark.django_db
def test_every_real_file_gives_the_same_postings(corpus_dir: Path, policy_corpus_dir: Path):
    files = sorted(corpus_dir.glob("*.md")) + sorted(policy_corpus_dir.glob("*.md"))
    if not files:
        pytest.skip("no real corpus here")
    native = _native()
    ours: dict = {}
    reference: dict = {}
    for docnum, path in enumerate(files):
        words = text_terms(parse_article(data=path.read_bytes(), max_bytes=10**8).body)
        assert native(words, ours, docnum, 1.0, 1.0) == _internals.postings_add_python(
            words, reference, docnum, 1.0, 1.0
        )
    assert list(ours.items()) == list(reference.items())


@pytest.mark.parametrize(
    ("module", "name", "check"),
    [
        ("search.engines.whoosh._internals", "_postings_add_native", "search.W005"),
        ("zhtext.fingerprint", "_native_shingle_hashes", "search.W006"),
    ],
)
def test_without_a_c_module_the_check_says_so(monkeypatch, module, name, check):
    from search import checks

    owner = importlib.import_module(module)
    built = getattr(owner, name) is not None
    monkeypatch.setattr(owner, name, None)
    problems = [p for p in checks.search_settings_check(None) if p.id == check]
    assert problems and "make native" in problems[0].hint
    monkeypatch.undo()
    if built:
        assert not [p for p in checks.search_settings_check(None) if p.id == check]


def _terms_writer(*, fixedsize, lengths, base):
    writer = _internals._TermsWriter.__new__(_internals._TermsWriter)
    writer._fixedsize, writer._lengths, writer._base = fixedsize, lengths, base
    return writer


def test_the_c_block_pickles_what_pickle_writes_for_every_kind_of_block():
    """Blocks of one to 140 postings (memo indexes past 255), ids of 1, 2 and 4 bytes, equal,
    all-1.0 and differing weights, values with every byte value, empty values, and fields
    without values: the same pickle, weight sum, lengths and top weight as the Python."""
    if _internals._w3_block_native is None:
        _native()
    rng = random.Random(20261208)
    lengths = [rng.choice([0, 1, 5, 300, 70_000]) for _ in range(300_000)]
    for _ in range(3000):
        count = rng.randint(1, 140)
        base = rng.choice([0, 1_000, 70_000])
        ids = sorted(rng.sample(range(base, base + rng.choice([200, 70_000, 200_000])), count))
        mode = rng.random()
        if mode < 0.3:
            weights = [1.0] * count
        elif mode < 0.6:
            weights = [rng.choice([2.0, 1.5, 0.3333])] * count
        else:
            weights = [rng.choice([1.0, 2.0, 0.1, 3.7, 1e-3, 12345.678, 0.0]) for _ in range(count)]
        fixedsize = rng.choice([None, -1, 0])
        if fixedsize == 0:
            values = [b""] * count
        else:
            values = [
                bytes(rng.randrange(256) for _ in range(rng.choice([0, 4, 8, 200]))) for _ in range(count)
            ]
        writer = _terms_writer(fixedsize=fixedsize, lengths=lengths, base=base)
        ours = _internals._w3_block_native(ids, weights, values, lengths, base, fixedsize != 0)
        theirs = writer._block_encode_python(ids, weights, values)
        assert ours == theirs
        assert type(ours[4]) is type(theirs[4])  # (the int 0 when no weight is above it)


def test_blocks_the_c_writer_does_not_take_go_to_python():
    if _internals._w3_block_native is None:
        _native()
    shared = b"\x01\x00\x00\x00"
    # a value object met twice (pickled by reference) and an id beyond 32 bits
    assert _internals._w3_block_native([1, 2], [1.0, 1.0], [shared, shared], [1, 1, 1], 0, True) is None
    assert _internals._w3_block_native([2**40], [1.0], [b"x"], [], 2**40, True) is None
    writer = _terms_writer(fixedsize=None, lengths=[1, 1, 1], base=0)
    assert writer._block_encode([1, 2], [1.0, 1.0], [shared, shared]) == writer._block_encode_python(
        [1, 2], [1.0, 1.0], [shared, shared]
    )


def test_the_term_index_hash_is_whoosh_md5_hash():
    """The C term writer hashes each term index key itself: the last four bytes of its MD5,
    read big-endian, as ``whoosh.filedb.filetables.md5_hash`` (every padding length, long keys)."""
    if _internals._w3_terms_native is None:
        _native()
    w3_md5_tail = importlib.import_module("search.engines.whoosh._postings").w3_md5_tail
    rng = random.Random(20261207)
    for size in [*range(0, 150), 1000, 4096, 10_001]:
        key = bytes(rng.randrange(256) for _ in range(size))
        assert w3_md5_tail(key) == md5_hash(key), size
