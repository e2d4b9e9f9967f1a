"""The project's segmenter (``cjk_cut``) against jieba, the reference, on every real file.

``cjk_cut`` re-implements jieba's HMM-free dynamic programme for speed; it must not drift from
jieba by a single token, with the project's dictionaries loaded and with an editor's new word.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from zhtext.analysis import _CJK_RUN_RE, _jieba, _normalise_fast, cjk_cut, dictionary_refresh, text_terms
from zhtext.models import DictionaryTerm


def _ours(run: str) -> list[str]:
    ends = cjk_cut(run)
    return [run[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def _differences(paths: list[Path]) -> tuple[int, list[str]]:
    tokenizer = _jieba()
    tokens = 0
    differ: list[str] = []
    for path in paths:
        # The text the indexer segments: normalised (simplified script, folded width and case).
        norm = _normalise_fast(path.read_text(encoding="utf-8", errors="replace"))
        for run in _CJK_RUN_RE.findall(norm):
            ours = _ours(run)
            tokens += len(ours)
            if ours != list(tokenizer.cut(run, HMM=False)) and len(differ) < 5:
                differ.append(f"{path.name}: {run[:40]}")
    return tokens, differ


@pytest.mark.parametrize("which", ["corpus_dir", "policy_corpus_dir"])
def test_token_for_token_the_same_as_jieba_on_every_real_file(which, request, db):
    dictionary_refresh(force=True)
    paths = sorted(request.getfixturevalue(which).glob("*.md"))
    tokens, differ = _differences(paths)
    assert tokens > 100_000  # the whole corpus was compared, not an empty set
    assert differ == []


def test_an_editors_word_reaches_both_segmenters_at_once(db):
    sample = "澜沧算力枢纽建设推进会召开"
    dictionary_refresh(force=True)
    assert "澜沧算力枢纽" not in _ours(sample)
    DictionaryTerm.objects.create(word="澜沧算力枢纽")
    dictionary_refresh(check_now=True)
    try:
        assert _ours(sample) == list(_jieba().cut(sample, HMM=False))
        assert "澜沧算力枢纽" in _ours(sample)
        assert "澜沧算力枢纽" in text_terms(sample)
    finally:
        DictionaryTerm.objects.filter(word="澜沧算力枢纽").delete()
        dictionary_refresh(check_now=True)
    assert "澜沧算力枢纽" not in _ours(sample)
