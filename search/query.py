"""The query language: lexer, parser, and the analysed tree an engine receives.

Words (all must match), ``"exact phrase"`` (also “…”), ``-exclude``, ``A OR B`` (also
``a or b``: a lower-case or between two terms; ``"or"`` in quotes is the word) and
parentheses. ``query_parse`` gives a small tree of tuples; ``query_tree`` turns it into
the engine contract's tree (``search.engines.contract``), each word with its analysed
spellings (as typed, then its synonyms), so no engine has to know jieba or the synonyms.
"""

from __future__ import annotations

from typing import Any

from zhtext.analysis import query_segments, synonyms_for, text_words

from .engines.contract import AllOf, AnyOf, Not, QueryNode, Segment, Spelling, Term
from .limits import MAX_QUERY_CHARS


class QuerySyntaxError(ValueError):
    """A query the user has to fix; ``str()`` is a plain Chinese explanation."""


# Query trees: ("word", text) ("phrase", text) ("and", [..]) ("or", [..]) ("not", node)
Node = tuple[str, Any]

_QUOTES = str.maketrans({"“": '"', "”": '"', "＂": '"', "「": '"', "」": '"', "『": '"', "』": '"'})
_PUNCT = str.maketrans({"（": "(", "）": ")", "－": "-", "—": "-", "｜": "|", "\u3000": " "})


def _lex(text: str) -> list[tuple[str, str]]:
    text = text.translate(_QUOTES).translate(_PUNCT)
    tokens: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QuerySyntaxError("引号没有配对：请补上右引号，或去掉多余的引号。")
            tokens.append(("phrase", text[i + 1 : end]))
            i = end + 1
        elif ch == "(":
            tokens.append(("(", ch))
            i += 1
        elif ch == ")":
            tokens.append((")", ch))
            i += 1
        elif ch == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != "-":
            tokens.append(("-", ch))
            i += 1
        else:
            start, depth = i, 0
            while i < n and not text[i].isspace() and text[i] != '"':
                if text[i] == "(":
                    depth += 1
                elif text[i] == ")":
                    if depth == 0:
                        break
                    depth -= 1
                i += 1
            word = text[start:i]
            if word in ("OR", "|") or (word == "or" and _between_terms(tokens, text[i:])):
                # lower-case "or" between two terms is read as OR (query_lowercase_or says so)
                tokens.append(("OR", word))
            elif word in ("AND", "&", "-", "+"):
                continue
            else:
                tokens.append(("word", word))
    return tokens


def _between_terms(tokens: list[tuple[str, str]], rest: str) -> bool:
    return bool(tokens) and tokens[-1][0] in ("word", "phrase", ")") and bool(rest.strip())


def query_lowercase_or(*, text: str) -> bool:
    """Whether the query has a lower-case "or" between terms, read as OR (the page says so)."""
    try:
        return any(token == ("OR", "or") for token in _lex(text))
    except QuerySyntaxError:
        return False


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek() == ")":
            raise QuerySyntaxError("括号没有配对：多了一个右括号“)”。")
        return node

    def parse_or(self) -> Node:
        if self.peek() == "OR":
            raise QuerySyntaxError("“OR”的左边缺少检索词，例如：数据安全 OR 网络安全。")
        parts = [self.parse_and()]
        while self.peek() == "OR":
            self.i += 1
            if self.peek() in (None, ")", "OR"):
                raise QuerySyntaxError("“OR”的右边缺少检索词，例如：数据安全 OR 网络安全。")
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def parse_and(self) -> Node:
        parts: list[Node] = []
        while self.peek() not in (None, ")", "OR"):
            parts.append(self.parse_unary())
        if not parts:
            raise QuerySyntaxError("括号里没有检索词。")
        return parts[0] if len(parts) == 1 else ("and", parts)

    def parse_unary(self) -> Node:
        if self.peek() == "-":
            self.i += 1
            if self.peek() in (None, ")", "OR", "-"):
                raise QuerySyntaxError("减号后面要紧跟要排除的词，例如：网络安全 -培训。")
            return ("not", self.parse_atom())
        return self.parse_atom()

    def parse_atom(self) -> Node:
        kind, value = self.tokens[self.i]
        self.i += 1
        if kind == "(":
            node = self.parse_or()
            if self.peek() != ")":
                raise QuerySyntaxError("括号没有配对：请补上右括号“)”。")
            self.i += 1
            return node
        if kind in ("word", "phrase"):
            return (kind, value)
        raise QuerySyntaxError("检索式无法识别，请检查括号、引号和 OR 的用法。")


def query_parse(*, text: str) -> Node | None:
    """Parse the user's query; ``None`` for an empty query (list everything)."""
    text = (text or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"检索词太长了，请不要超过 {MAX_QUERY_CHARS} 个字。")
    tokens = _lex(text)
    if not tokens:
        return None
    node = _Parser(tokens).parse()
    node = _prune(node)
    if node is None:
        raise QuerySyntaxError("检索词里没有可以检索的文字，请输入中文、英文或数字。")
    if not _has_positive(node):
        raise QuerySyntaxError("请至少输入一个要查找的词：不能只有带减号的排除词。")
    return node


def _prune(node: Node) -> Node | None:
    """Drop words that contain nothing searchable (punctuation only)."""
    kind, value = node
    if kind in ("word", "phrase"):
        return node if query_segments(value) else None
    if kind == "not":
        inner = _prune(value)
        return ("not", inner) if inner else None
    children = [c for c in (_prune(c) for c in value) if c]
    if not children:
        return None
    return children[0] if len(children) == 1 else (kind, children)


def _has_positive(node: Node) -> bool:
    kind, value = node
    if kind in ("word", "phrase"):
        return True
    if kind == "not":
        return False
    if kind == "and":
        return any(_has_positive(c) for c in value)
    return all(_has_positive(c) for c in value)


def query_needles(node: Node | None) -> list[str]:
    """Normalised strings to highlight: positive words and phrases with their synonyms."""
    if node is None:
        return []
    kind, value = node
    if kind == "not":
        return []
    if kind in ("word", "phrase"):
        needles: list[str] = []
        for variant in synonyms_for(term=value):
            needles.append(variant)
            if kind == "phrase" or len(query_segments(variant)) > 1:
                needles.extend(seg for _, seg in query_segments(variant))
        return needles
    out: list[str] = []
    for child in value:
        out.extend(query_needles(child))
    return out


def query_units(*, words: list[str]) -> list[list[str]]:
    """Group a run's jieba words into the units an unquoted query requires anywhere.

    Words of two or more characters stand alone (俄罗斯 | 黑客). Single characters carry
    little meaning apart: consecutive ones form one unit (密 评 → 密评), and a lone one
    stays with its neighbour (恶意软件 包 → 恶意软件包), matched as adjacent words or
    inside a longer indexed word.
    """
    chunks: list[list[str]] = []
    for word in words:
        if len(word) == 1 and chunks and all(len(w) == 1 for w in chunks[-1]):
            chunks[-1].append(word)
        else:
            chunks.append([word])
    units: list[list[str]] = []
    pending: list[str] = []
    for chunk in chunks:
        if len(chunk) == 1 and len(chunk[0]) == 1 and not chunk[0].isascii():
            if units:
                units[-1] = [*units[-1], *chunk]
            else:
                pending = chunk
            continue
        units.append([*pending, *chunk])
        pending = []
    if pending:
        units.append(pending)
    return units


def query_tree(node: Node) -> QueryNode:
    """The parsed query with every word analysed: its spellings, their runs, words and units."""
    kind, value = node
    if kind in ("word", "phrase"):
        return Term(
            text=value,
            phrase=kind == "phrase",
            spellings=tuple(
                _spelling(text=variant, synonym=i > 0) for i, variant in enumerate(synonyms_for(term=value))
            ),
        )
    if kind == "not":
        return Not(child=query_tree(value))
    children = tuple(query_tree(child) for child in value)
    return AnyOf(children=children) if kind == "or" else AllOf(children=children)


def _spelling(*, text: str, synonym: bool) -> Spelling:
    segments = tuple(
        Segment(kind=seg_kind, text=seg, words=tuple(text_words(seg)))
        for seg_kind, seg in query_segments(text)
    )
    return Spelling(
        text=text,
        words=tuple(text_words(text)),
        segments=segments,
        units=tuple(tuple(unit) for segment in segments for unit in query_units(words=list(segment.words))),
        synonym=synonym,
    )
