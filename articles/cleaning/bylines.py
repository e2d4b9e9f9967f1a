"""Byline fields: "作者：甲 编辑：乙 来源：丙" split by label."""

from __future__ import annotations

import re

# Credit labels that open a byline field. Several fields often share one line ("作者：甲 编辑：乙"), so
# a line is split at every label, and only writer labels name authors: editors, reviewers and
# layout staff are credited for the page, not for the text.
AUTHOR_LABELS = frozenset(
    {"作者", "撰文", "撰稿", "文", "记者", "原作者", "译者", "翻译", "编译", "Author", "By"}
)
EDITOR_LABELS = frozenset(
    {"责任编辑", "内容编辑", "责编", "编辑", "审核", "审校", "校对", "排版", "美编", "监制", "统筹", "策划"}
)
SOURCE_LABELS = frozenset({"来源"})
LABEL_RE = re.compile(
    r"(?:^|(?<=[\s\u3000，,;；|｜]))(?P<label>"
    + "|".join(sorted(AUTHOR_LABELS | EDITOR_LABELS | SOURCE_LABELS, key=len, reverse=True))
    + r")\s*[:：|｜/]\s*"
)


def labelled_fields(*, text: str) -> list[tuple[str, str]]:
    """'作者：甲 编辑：乙' -> [('作者', '甲'), ('编辑', '乙')]; [] unless the line opens with a label."""
    found = list(LABEL_RE.finditer(text))
    if not found or found[0].start() != 0:
        return []
    fields: list[tuple[str, str]] = []
    for position, match in enumerate(found):
        end = found[position + 1].start() if position + 1 < len(found) else len(text)
        value = text[match.end() : end].strip(" \t\u3000，,;；|｜")
        if value:
            fields.append((match.group("label"), value))
    return fields


__all__ = ["AUTHOR_LABELS", "EDITOR_LABELS", "LABEL_RE", "SOURCE_LABELS", "labelled_fields"]
