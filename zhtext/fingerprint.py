"""Near-duplicate fingerprints of article bodies: MinHash over shingles of jieba tokens.

The text goes through the same normaliser and jieba segmentation as the search index
(``analysis.text_terms``), so traditional/simplified, full-/half-width and bracket
variants of one story give the same tokens. Punctuation and whitespace never become
tokens, and very common function words are dropped, so a repost that only changes
punctuation, spacing or a few particles keeps its shingles.

A shingle is three consecutive tokens (about five or six characters of Chinese): long
enough that two unrelated articles on the same topic share few of them, short enough
that one edited word only disturbs three shingles.

Signatures are deterministic across processes and machines: datasketch draws its
permutations from a fixed seed and hashes shingles with SHA-1, never Python's salted
``hash()``. They are stored as little-endian uint32 values.
"""

from __future__ import annotations

import hashlib
import re
import threading

import numpy as np

from .analysis import text_terms_once

try:  # built by ``make native`` (scripts/build_native.py); hashlib per shingle otherwise
    from ._shingles import shingle_hashes as _native_shingle_hashes
except ImportError:  # pragma: no cover - depends on the build
    _native_shingle_hashes = None

NUM_PERM = 128
SEED = 1
# Pinned so a datasketch upgrade that changes its default cannot silently make new
# signatures incomparable with the stored ones (run ``stories_rebuild`` after changing it).
SCHEME = "affine32"
SHINGLE_SIZE = 3

# LSH banding of a 128-value signature: 32 bands of 4 rows. Two texts with shingle
# Jaccard J share at least one band with probability 1 - (1 - J**4) ** 32:
#   J = 0.2 → 5 %, 0.3 → 23 %, 0.4 → 57 %, 0.5 → 87 %, 0.6 → 98.8 %, 0.7 → 99.97 %.
# The S-curve midpoint (1/32) ** (1/4) ≈ 0.42 sits below the 0.6 similarity that
# confirms a repost (articles.reposts), so nearly every true repost (Jaccard usually
# 0.8–1.0: the same paragraphs with different boilerplate) becomes a candidate, while
# articles that merely share vocabulary (J ≈ 0.05–0.2) rarely do. Fewer rows (e.g.
# 42×3) would raise recall around 0.5 but make ~28 % of J = 0.2 pairs candidates, which
# gets expensive as the archive grows; more rows (e.g. 25×5) would miss ~13 % at 0.6.
BANDS = 32
ROWS = 4

# Tokens so frequent in Chinese prose that shingles made of them say nothing about the
# story; dropping them makes a shingle span more content words.
STOP_TOKENS = frozenset(
    "的 了 和 与 及 以及 或 是 在 对 为 将 把 被 也 都 而 并 等 之 其 这 那 该 个 中 上 下 "
    "有 又 就 则 但 从 向 于 以 由 到 我们 我 你 他 她 它 们 一 着 过 啊 吧 呢 吗 "
    "a an the of and or to in on for is are be by with as at from".split()
)

_CJK_RUNS_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD_RE = re.compile(r"[A-Za-z0-9]+")

_lock = threading.Lock()
_template = None


def _minhash_template():
    """One MinHash built once per process: its permutations are reused for every signature.

    Building the permutations (``num_perm`` pairs drawn from a seeded generator) costs more
    than hashing a whole article, so it is done once.
    """
    global _template
    if _template is None:
        with _lock:
            if _template is None:
                # Imported on first use: ~1 s at import (it pulls in scipy), paid otherwise by
                # every process that starts, most of which never compare two texts.
                from datasketch import MinHash

                _template = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    return _template


def text_evidence(*, text: str) -> int:
    """How much text there is to compare: CJK characters plus Latin words/numbers."""
    # (characters counted in runs: a list of every one would be a string object each)
    return sum(map(len, _CJK_RUNS_RE.findall(text))) + len(_LATIN_WORD_RE.findall(text))


def native_shingles_available() -> bool:
    return _native_shingle_hashes is not None


def _shingle_tokens(text: str) -> list[str]:
    # segmented once at ingest for this and the keywords (``text_terms_grouped``)
    return [t for t in text_terms_once(text) if t not in STOP_TOKENS]


def text_shingles(*, text: str, size: int = SHINGLE_SIZE) -> set[bytes]:
    return _shingles_of(_shingle_tokens(text), size=size)


def _shingles_of(tokens: list[str], *, size: int) -> set[bytes]:
    if len(tokens) < size:
        return {" ".join(tokens).encode("utf-8")} if tokens else set()
    return {" ".join(tokens[i : i + size]).encode("utf-8") for i in range(len(tokens) - size + 1)}


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, which datasketch's ``affine32`` scheme applies to each
    input hash before its permutations (uint32 arithmetic wraps, as intended)."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def minhash_signature(*, text: str, num_perm: int = NUM_PERM) -> bytes:
    """MinHash signature of ``text``'s token shingles, ``num_perm`` little-endian uint32 values.

    Empty bytes when the text has no tokens at all. The values are datasketch's
    (``MinHash(num_perm, seed=SEED, scheme="affine32").update_batch``: the first four bytes of
    each shingle's SHA-1, read little-endian, mixed, permuted by ``a * h + b`` and the minimum
    kept), computed here with one buffer of all the hashes instead of a Python call and an
    unpack per shingle, the hashes themselves in C when ``_shingles.c`` is built;
    ``zhtext/tests/test_fingerprint.py`` holds them equal on the corpus, either way.
    """
    if num_perm != NUM_PERM:
        from datasketch import MinHash

        shingles = text_shingles(text=text)
        if not shingles:
            return b""
        minhash = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME)
        minhash.update_batch(sorted(shingles))
        return minhash.hashvalues.astype("<u4").tobytes()
    tokens = _shingle_tokens(text)
    if _native_shingle_hashes is not None and len(tokens) >= SHINGLE_SIZE:
        # every occurrence hashed in C (``_shingles.c``): the minimum is that of the distinct ones
        first = _native_shingle_hashes(tokens, SHINGLE_SIZE)
    else:
        shingles = _shingles_of(tokens, size=SHINGLE_SIZE)
        if not shingles:
            return b""
        sha1 = hashlib.sha1
        first = b"".join([sha1(shingle).digest()[:4] for shingle in shingles])
    a, b = _minhash_template().permutations
    hashes = _fmix32(np.frombuffer(first, dtype="<u4").astype(np.uint32)).reshape(-1, 1)
    return (hashes * a + b).min(axis=0).astype("<u4").tobytes()


def _values(signature: bytes) -> np.ndarray:
    return np.frombuffer(signature, dtype="<u4")


def minhash_bands(*, signature: bytes, bands: int = BANDS, rows: int = ROWS) -> list[str]:
    """LSH band keys ``b{index}:{sha1 prefix}``: texts sharing a key are repost candidates.

    The band index is part of the key so equal values in different bands never collide.
    """
    if not signature:
        return []
    values = _values(signature)
    if len(values) < bands * rows:
        raise ValueError(f"signature has {len(values)} values, {bands}×{rows} bands need {bands * rows}")
    keys = []
    for index in range(bands):
        chunk = values[index * rows : (index + 1) * rows].tobytes()
        keys.append(f"b{index}:{hashlib.sha1(chunk).hexdigest()[:32]}")
    return keys


def minhash_similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (0.0 when either is empty)."""
    if not a or not b or len(a) != len(b):
        return 0.0
    return float(np.count_nonzero(_values(a) == _values(b))) / (len(a) // 4)
