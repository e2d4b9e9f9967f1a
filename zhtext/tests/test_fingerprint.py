"""The repost fingerprint computed without datasketch's per-shingle calls must be datasketch's.

Stored signatures are compared with new ones for as long as the archive lives, so a faster
computation is only allowed when it gives the very same values.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from datasketch import MinHash

from zhtext import fingerprint
from zhtext.fingerprint import NUM_PERM, SCHEME, SEED, minhash_signature, text_shingles


def _datasketch(text: str) -> bytes:
    shingles = text_shingles(text=text)
    if not shingles:
        return b""
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch(sorted(shingles))
    return minhash.hashvalues.astype("<u4").tobytes()


@pytest.fixture(params=["c", "python"])
def shingle_hashing(request, monkeypatch):
    """Each test runs with the C shingle hashes (when built) and with hashlib's."""
    if request.param == "c":
        if fingerprint._native_shingle_hashes is None:
            if os.environ.get("PORTAL_REQUIRE_NATIVE") == "1":
                pytest.fail("zhtext/_shingles.c is not built: run make native")
            pytest.skip("zhtext/_shingles.c is not built (make native)")
    else:
        monkeypatch.setattr(fingerprint, "_native_shingle_hashes", None)
    return request.param


@pytest.mark.parametrize("which", ["corpus_dir", "policy_corpus_dir"])
def test_signatures_are_datasketchs_on_every_real_file(which, request, db, shingle_hashing):
    paths = sorted(request.getfixturevalue(which).glob("*.md"))
    compared = 0
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        ours = minhash_signature(text=text)
        assert ours == _datasketch(text), path.name
        compared += bool(ours)
    assert compared > 200


def test_short_and_empty_texts_and_other_sizes(db, shingle_hashing):
    assert minhash_signature(text="") == b"" == _datasketch("")
    for text in ("数据", "网络安全法", "个人信息保护法 第三章 个人信息跨境提供的规则"):
        assert minhash_signature(text=text) == _datasketch(text)
    assert len(minhash_signature(text="数据安全法实施", num_perm=64)) == 64 * 4


@pytest.mark.parametrize("sha_instructions", [True, False], ids=["sha-instructions", "portable"])
def test_the_c_shingle_hashes_are_sha1s_first_four_bytes_at_every_block_boundary(sha_instructions):
    """SHA-1 pads to 64-byte blocks: shingles of every length around 55, 56, 64 and 119 bytes
    (one block, the length spilling over, two blocks), in several scripts; on the processor's
    SHA-1 instructions and on the portable rounds."""
    if fingerprint._native_shingle_hashes is None:
        pytest.skip("zhtext/_shingles.c is not built (make native)")
    from zhtext import _shingles

    used = _shingles.sha_instructions()
    if _shingles.sha_instructions(sha_instructions) != sha_instructions:
        _shingles.sha_instructions(used)
        pytest.skip("this processor has no SHA-1 instructions")
    try:
        _block_boundaries_check()
    finally:
        _shingles.sha_instructions(used)


def _block_boundaries_check() -> None:
    for length in range(1, 140):
        for letter in ("a", "数", "𠀀"):
            tokens = [letter * length, "乙", "c" * (length % 7 + 1), "丁"]
            expected = b"".join(
                hashlib.sha1(" ".join(tokens[i : i + 3]).encode("utf-8")).digest()[:4] for i in range(2)
            )
            assert fingerprint._native_shingle_hashes(tokens, 3) == expected, (length, letter)
    assert fingerprint._native_shingle_hashes(["甲", "乙"], 3) == b""
    with pytest.raises(TypeError):
        fingerprint._native_shingle_hashes(["甲", 2, "丙"], 3)
