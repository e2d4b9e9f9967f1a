"""Load what text analysis needs before the first article or query asks for it.

jieba's prefix dictionary (~1.5 s), the C segmenter's copy of it (~0.3 s, only in processes
warmed here: the ones that segment in bulk), the keyword tables (~1 s) and the MinHash
permutations are built lazily on first use. A process about to fork workers loads them first,
so the workers share one copy (copy-on-write) instead of each paying and holding its own.
"""

from __future__ import annotations

from .analysis import _jieba, dictionary_refresh, segmenter_lexicon_build, text_terms
from .fingerprint import _minhash_template
from .keywords import _tables_load


def analysis_warm() -> None:
    _jieba()
    dictionary_refresh()
    segmenter_lexicon_build()
    text_terms("预热分词")
    _tables_load()
    _minhash_template()
