"""The project's segmenter (``cjk_cut``) against jieba, the reference, on every real file.

``cjk_cut`` re-implements jieba's HMM-free dynamic programme for speed, in C
(``zhtext/_cut.c``) with the same code in Python as its fallback; neither may drift from
jieba by a single token, with the project's dictionaries loaded and with an editor's new word.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from zhtext import analysis
from zhtext.analysis import (
    _CJK_RUN_RE,
    _jieba,
    _normalise_fast,
    cjk_cut,
    cjk_cut_python,
    dictionary_refresh,
    native_cut_available,
    segmenter_lexicon_build,
    text_terms,
)
from zhtext.models import DictionaryTerm


def _require_native() -> None:
    if not native_cut_available():
        if os.environ.get("PORTAL_REQUIRE_NATIVE") == "1":
            pytest.fail("zhtext/_cut.c is not built: run make native")
        pytest.skip("zhtext/_cut.c is not built (make native)")


def _native(run: str) -> list[int]:
    """The C version reading jieba's dict (what web processes run)."""
    _require_native()
    tokenizer = _jieba()
    return analysis._native_cut(run, tokenizer.FREQ, analysis._logtotal(tokenizer.total))


def _lexicon(run: str) -> list[int]:
    """The C version over its own copy of the dictionary (what workers run)."""
    _require_native()
    lexicon, _version = segmenter_lexicon_build()
    return lexicon.cut_ends(run, analysis._logtotal(_jieba().total))


def _lexicon_words(run: str) -> list[int]:
    """The C lexicon's words (``cut_words``, what ingest and the index take), as end offsets."""
    _require_native()
    lexicon, _version = segmenter_lexicon_build()
    words = lexicon.cut_words(run, analysis._logtotal(_jieba().total))
    assert isinstance(words, tuple)
    return list(itertools.accumulate(map(len, words)))


SEGMENTERS = {
    "c": _native,
    "c-lexicon": _lexicon,
    "c-lexicon-words": _lexicon_words,
    "python": cjk_cut_python,
}


def _words(cut: Callable[[str], list[int]], run: str) -> list[str]:
    ends = cut(run)
    return [run[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def _differences(cut: Callable[[str], list[int]], paths: list[Path]) -> tuple[int, list[str]]:
    tokenizer = _jieba()
    tokens = 0
    differ: list[str] = []
    for path in paths:
        # The text the indexer segments: normalised (simplified script, folded width and case).
        norm = _normalise_fast(path.read_text(encoding="utf-8", errors="replace"))
        for run in _CJK_RUN_RE.findall(norm):
            ours = _words(cut, run)
            tokens += len(ours)
            if ours != list(tokenizer.cut(run, HMM=False)) and len(differ) < 5:
                differ.append(f"{path.name}: {run[:40]}")
    return tokens, differ


@pytest.mark.parametrize("segmenter", SEGMENTERS)
@pytest.mark.parametrize("which", ["corpus_dir", "policy_corpus_dir"])
def test_token_for_token_the_same_as_jieba_on_every_real_file(which, segmenter, request, db):
    dictionary_refresh(force=True)
    paths = sorted(request.getfixturevalue(which).glob("*.md"))
    tokens, differ = _differences(SEGMENTERS[segmenter], paths)
    assert tokens > 100_000  # the whole corpus was compared, not an empty set
    assert differ == []


@pytest.mark.parametrize("segmenter", SEGMENTERS)
def test_an_editors_word_reaches_every_segmenter_at_once(segmenter, db):
    cut = SEGMENTERS[segmenter]
    sample = "澜沧算力枢纽建设推进会召开"
    dictionary_refresh(force=True)
    assert "澜沧算力枢纽" not in _words(cut, sample)
    DictionaryTerm.objects.create(word="澜沧算力枢纽")
    dictionary_refresh(check_now=True)
    try:
        assert _words(cut, sample) == list(_jieba().cut(sample, HMM=False))
        assert "澜沧算力枢纽" in _words(cut, sample)
        assert "澜沧算力枢纽" in text_terms(sample)
    finally:
        DictionaryTerm.objects.filter(word="澜沧算力枢纽").delete()
        dictionary_refresh(check_now=True)
    assert "澜沧算力枢纽" not in _words(cut, sample)


def test_the_c_segmenter_breaks_ties_and_edge_cases_as_the_python_one(db):
    """Runs the real files may not contain: empty, one character, characters no word holds,
    a word that is a prefix of nothing, the longest dictionary words back to back."""
    dictionary_refresh(force=True)
    freq = _jieba().FREQ
    words = (w for w, f in freq.items() if f and len(w) >= 6 and _CJK_RUN_RE.fullmatch(w))
    longest = sorted(words, key=len)[-20:]
    samples = ["", "的", "㐀㐁㐂", "数", "数据数据数据", "".join(longest), "网信网信办网信部门多地网信部门"]
    for run in samples:
        assert _native(run) == cjk_cut_python(run), run
        assert _lexicon(run) == cjk_cut_python(run), run
        assert _lexicon_words(run) == cjk_cut_python(run), run


def test_a_lexicon_made_before_an_editors_word_is_made_again_before_it_is_used(db, monkeypatch):
    _require_native()
    monkeypatch.setattr(analysis, "_lexicon", None)  # (this test's own, whatever ran before)
    sample = "澜沧算力枢纽建设推进会召开"
    dictionary_refresh(force=True)
    segmenter_lexicon_build()
    before = analysis._lexicon
    assert "澜沧算力枢纽" not in _words(cjk_cut, sample)
    DictionaryTerm.objects.create(word="澜沧算力枢纽")
    dictionary_refresh(check_now=True)
    try:
        assert "澜沧算力枢纽" in _words(cjk_cut, sample)  # the workers' path: a lexicon is in use
        assert analysis._lexicon is not before
    finally:
        DictionaryTerm.objects.filter(word="澜沧算力枢纽").delete()
        dictionary_refresh(check_now=True)
    assert "澜沧算力枢纽" not in _words(cjk_cut, sample)
