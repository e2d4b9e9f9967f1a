"""The repost fingerprint computed without datasketch's per-shingle calls must be datasketch's.

Stored signatures are compared with new ones for as long as the archive lives, so a faster
computation is only allowed when it gives the very same values.
"""

from __future__ import annotations

import pytest
from datasketch import MinHash

from zhtext.fingerprint import NUM_PERM, SCHEME, SEED, minhash_signature, text_shingles


def _datasketch(text: str) -> bytes:
    shingles = text_shingles(text=text)
    if not shingles:
        return b""
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    minhash.update_batch(sorted(shingles))
    return minhash.hashvalues.astype("<u4").tobytes()


@pytest.mark.parametrize("which", ["corpus_dir", "policy_corpus_dir"])
def test_signatures_are_datasketchs_on_every_real_file(which, request, db):
    paths = sorted(request.getfixturevalue(which).glob("*.md"))
    compared = 0
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="replace")
        ours = minhash_signature(text=text)
        assert ours == _datasketch(text), path.name
        compared += bool(ours)
    assert compared > 200


def test_short_and_empty_texts_and_other_sizes(db):
    assert minhash_signature(text="") == b"" == _datasketch("")
    for text in ("数据", "网络安全法", "个人信息保护法 第三章 个人信息跨境提供的规则"):
        assert minhash_signature(text=text) == _datasketch(text)
    assert len(minhash_signature(text="数据安全法实施", num_perm=64)) == 64 * 4
