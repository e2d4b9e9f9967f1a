"""Normalisation's bracket step: six replaces in C instead of ``str.translate``, the same text."""

from __future__ import annotations

from pathlib import Path

import pytest

from zhtext.analysis import _BRACKETS, _normalise_fast, brackets_unify, text_normalise


@pytest.mark.parametrize(
    "text",
    [
        "",
        "无括号的正文",
        "[1](https://example.org/a(b)) 【通知】（2023）工信部〔2023〕1号",
        "][)(】【",
        "〔已统一〕与[未统一]相邻〔[",
        "(" * 50 + "正文" + ")" * 50,
        "ascii only [x] (y)",
    ],
)
def test_the_replaces_give_what_translate_gives(text: str) -> None:
    assert brackets_unify(text) == text.translate(_BRACKETS)


@pytest.mark.parametrize("which", ["corpus_dir", "policy_corpus_dir"])
def test_every_real_file_normalises_as_before(which: str, request: pytest.FixtureRequest) -> None:
    folder: Path = request.getfixturevalue(which)
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        assert brackets_unify(text) == text.translate(_BRACKETS), path.name
        assert _normalise_fast(text) == text_normalise(text)[0], path.name
