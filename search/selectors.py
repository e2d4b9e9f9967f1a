"""Article search for the search page and the JSON API.

``article_search(params=...)`` is the only entry point. The query text is parsed
here (phrases, ``-exclude``, ``OR``, parentheses) into a small tree; on Whoosh the
tree is compiled to Whoosh queries and run by ``ChineseWhooshSearchBackend`` with
one long-lived searcher; on any other haystack engine (Elasticsearch 7) the same
parameters go through haystack's ``SearchQuerySet``. Titles and snippets are
highlighted from the database rows with the analyzer's normaliser, so they look
the same whichever engine answered.
"""

from __future__ import annotations

import datetime
import html
import math
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.urls import reverse

from articles.models import Article, Author
from zhtext.analysis import (
    dictionary_refresh,
    query_segments,
    synonyms_for,
    text_normalise,
    text_normalise_plain,
    text_words,
)


class QuerySyntaxError(ValueError):
    """A query the user has to fix; ``str()`` is a plain Chinese explanation."""


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    sources: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    years: tuple[int, ...] = ()
    months: tuple[str, ...] = ()  # "2024-05"
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    sort: str = "relevance"  # relevance | newest | oldest
    title_only: bool = False
    page: int = 1
    page_size: int = 20
    policies: tuple[str, ...] = ()  # names of policy documents mentioned (facet "policy")
    # One hit per story (repost group); SearchPage.count then counts stories.
    collapse: bool = True


@dataclass(frozen=True)
class StoryMember:
    """Another published article of a hit's story, for the "N 个来源" list."""

    id: int
    title: str
    url: str
    source: str
    published: datetime.date | None


@dataclass(frozen=True)
class Hit:
    id: int
    title: str
    url: str
    source: str
    authors: tuple[str, ...]
    published: datetime.date | None
    title_html: str  # escaped, matched words wrapped in <mark>
    snippet_html: str  # escaped CJK-aware snippet around matched words, <mark>...</mark>
    snippet: str  # same as plain text
    story_id: int | None = None
    story_size: int = 1  # published articles in the story (1 when the article has none)
    story_others: tuple[StoryMember, ...] = ()  # the story's other articles, oldest first


@dataclass(frozen=True)
class FacetValue:
    value: str
    count: int
    selected: bool


@dataclass(frozen=True)
class SearchPage:
    # Matching stories when results are collapsed (params.collapse, the default): an
    # article and its reposts count once. Facet counts always count articles.
    count: int
    page: int
    page_size: int
    num_pages: int
    results: list[Hit]
    facets: dict[str, list[FacetValue]]  # keys: source, author, tag, policy, year, month


SORTS = ("relevance", "newest", "oldest")
MAX_PAGE_SIZE = 100
MAX_QUERY_CHARS = 500
FACET_LIMIT = 50
SNIPPET_CHARS = 120
# index field for each facet key of SearchPage.facets
FACET_FIELDS = {
    "source": "source_exact",
    "author": "author_exact",
    "tag": "tag_exact",
    "policy": "policy",
    "year": "year",
    "month": "month",
}
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# Boosts: a proper word match beats a match inside a longer word; the title beats the body.
BOOST_TEXT = 1.0
BOOST_TEXT_SUB = 0.3
BOOST_TITLE = 3.0
BOOST_TITLE_SUB = 1.0
# Words of an unquoted query found apart score this much of what they score in a row.
BOOST_UNIT = 0.6
# Matches of a synonym score this much of a match of the word typed.
BOOST_SYNONYM = 0.5


# --- query syntax --------------------------------------------------------------------

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
            if word in ("OR", "|"):
                tokens.append(("OR", word))
            elif word in ("AND", "&", "-", "+"):
                continue
            else:
                tokens.append(("word", word))
    return tokens


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


# --- Whoosh compilation --------------------------------------------------------------


def _wq():
    from whoosh import query as wq

    return wq


def _sub_query(*, fieldname: str, segments: list[tuple[str, str]], boost: float, expand):
    """Each run of the query inside longer indexed words, e.g. 心理 → 心理健康, 税 → 增值税.

    The index holds precise words only; ``expand`` returns the indexed words that
    contain a run (from the index's own term list), so this costs a dictionary
    lookup per query instead of indexing every character and character pair.
    """
    wq = _wq()
    parts = []
    for _, seg in segments:
        terms = expand(fieldname=fieldname, needle=seg)
        if not terms:
            return None
        parts.append(wq.Or([wq.Term(fieldname, t, boost=boost) for t in terms]))
    return parts[0] if len(parts) == 1 else wq.And(parts)


def _exact_query(*, fieldname: str, words: list[str], boost: float):
    wq = _wq()
    if len(words) == 1:
        return wq.Term(fieldname, words[0], boost=boost)
    return wq.Phrase(fieldname, words, boost=boost)


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


def _unit_query(*, fieldname: str, words: list[str], boost: float, sub_boost: float, expand, span):
    """One unit in one field: its words in a row, or inside (or across) longer indexed words."""
    wq = _wq()
    clauses = [_exact_query(fieldname=fieldname, words=words, boost=boost)]
    joined = "".join(words)
    clauses += [wq.Term(fieldname, t, boost=sub_boost) for t in expand(fieldname=fieldname, needle=joined)]
    if span is not None and len(words) > 1 and query_segments(joined)[:1] == [("cjk", joined)]:
        clauses += _span_queries(fieldname=fieldname, needle=joined, boost=sub_boost, span=span)
    return clauses[0] if len(clauses) == 1 else wq.Or(clauses)


def _variant_query(*, text: str, phrase: bool, title_only: bool, expand=None, span=None):
    """One spelling of a query word.

    Quoted text must match word for word. Unquoted text typed without spaces (俄罗斯黑客)
    needs each of its words anywhere in the article; the words in a row score again
    on top, so adjacent matches rank first.
    """
    wq = _wq()
    words = text_words(text)
    segments = query_segments(text)
    if not words or not segments:
        return None
    strict = _strict_clauses(
        text=text,
        words=words,
        segments=segments,
        phrase=phrase,
        title_only=title_only,
        expand=expand,
        span=span,
    )
    if phrase or expand is None:
        return wq.Or(strict)
    units = [unit for _kind, seg in segments for unit in query_units(words=text_words(seg))]
    if len(units) <= 1:
        return wq.Or(strict)
    fields = (
        [("title", BOOST_TITLE, BOOST_TITLE_SUB)]
        if title_only
        else [("text", BOOST_TEXT, BOOST_TEXT_SUB), ("title", BOOST_TITLE, BOOST_TITLE_SUB)]
    )
    loose = wq.And(
        [
            wq.Or(
                [
                    _unit_query(
                        fieldname=f,
                        words=unit,
                        boost=b * BOOST_UNIT,
                        sub_boost=sb * BOOST_UNIT,
                        expand=expand,
                        span=span,
                    )
                    for f, b, sb in fields
                ]
            )
            for unit in units
        ]
    )
    return wq.Or([loose, *strict])


def _strict_clauses(*, text, words, segments, phrase, title_only, expand, span) -> list:
    """The query word as written: its words in a row (or inside longer indexed words)."""
    wq = _wq()
    text_field = "title" if title_only else "text"
    clauses = [_exact_query(fieldname=text_field, words=words, boost=BOOST_TEXT)]
    if not title_only:
        clauses.append(_exact_query(fieldname="title", words=words, boost=BOOST_TITLE))
    # A quoted phrase that spans several runs (Latin + Chinese, spaces) must match
    # word for word; a single run may also sit inside a longer indexed word.
    if expand is not None and (not phrase or len(segments) == 1):
        subs = (
            [(text_field, BOOST_TEXT_SUB)]
            if title_only
            else [("text", BOOST_TEXT_SUB), ("title", BOOST_TITLE_SUB)]
        )
        if len(segments) > 1:
            # each run either as its own words or inside a longer word
            for fieldname, boost in subs:
                runs = []
                for _kind, seg in segments:
                    seg_words = text_words(seg)
                    alternatives = [_exact_query(fieldname=fieldname, words=seg_words, boost=boost)]
                    alternatives += [
                        wq.Term(fieldname, t, boost=boost) for t in expand(fieldname=fieldname, needle=seg)
                    ]
                    runs.append(wq.Or(alternatives))
                clauses.append(wq.And(runs))
        else:
            for fieldname, boost in subs:
                sub = _sub_query(fieldname=fieldname, segments=segments, boost=boost, expand=expand)
                if sub is not None:
                    clauses.append(sub)
                if span is not None and segments[0][0] == "cjk" and len(words) > 1:
                    clauses.extend(
                        _span_queries(fieldname=fieldname, needle=segments[0][1], boost=boost, span=span)
                    )
    return clauses


def _span_queries(*, fieldname: str, needle: str, boost: float, span) -> list:
    """The run across word boundaries the query did not have (安全评估|申报 in 数据出境安全评估|申报)."""
    wq = _wq()
    out = []
    for way in span(fieldname=fieldname, needle=needle):
        steps = [
            wq.Term(fieldname, alts[0], boost=boost)
            if len(alts) == 1
            else wq.Or([wq.Term(fieldname, t, boost=boost) for t in alts])
            for alts in way
        ]
        out.append(wq.Sequence(steps, boost=boost))
    return out


def _rescale(q, factor: float):
    """Multiply the boost of every term and phrase under ``q`` by ``factor`` (in place)."""
    wq = _wq()
    if isinstance(q, (wq.Term, wq.Phrase)):
        q.boost *= factor
    elif isinstance(q, wq.AndNot):
        _rescale(q.a, factor)
    else:
        for sub in getattr(q, "subqueries", ()):
            _rescale(sub, factor)
    return q


def _whoosh_compile(node: Node, *, title_only: bool, expand=None, span=None):
    wq = _wq()
    kind, value = node
    if kind in ("word", "phrase"):
        # The spelling typed counts fully; its synonyms find more but rank below it, so
        # an article that only says "ransomware" does not outrank one about 勒索软件.
        variants = [
            q if i == 0 else _rescale(q, BOOST_SYNONYM)
            for i, q in (
                (
                    i,
                    _variant_query(
                        text=v, phrase=kind == "phrase", title_only=title_only, expand=expand, span=span
                    ),
                )
                for i, v in enumerate(synonyms_for(term=value))
            )
            if q is not None
        ]
        if not variants:
            return None
        return variants[0] if len(variants) == 1 else wq.Or(variants)
    if kind == "not":
        return _whoosh_compile(value, title_only=title_only, expand=expand, span=span)
    if kind == "or":
        parts = [
            p
            for p in (_whoosh_compile(c, title_only=title_only, expand=expand, span=span) for c in value)
            if p is not None
        ]
        return wq.Or(parts) if parts else None
    positives = [c for c in value if c[0] != "not"]
    negatives = [c[1] for c in value if c[0] == "not"]
    pos = [
        p
        for p in (_whoosh_compile(c, title_only=title_only, expand=expand, span=span) for c in positives)
        if p is not None
    ]
    neg = [
        p
        for p in (_whoosh_compile(c, title_only=title_only, expand=expand, span=span) for c in negatives)
        if p is not None
    ]
    if not pos:
        return None
    positive = pos[0] if len(pos) == 1 else wq.And(pos)
    if not neg:
        return positive
    return wq.AndNot(positive, neg[0] if len(neg) == 1 else wq.Or(neg))


def _whoosh_filters(params: SearchParams) -> tuple[dict[str, Any], Any]:
    wq = _wq()
    selections = _selections(params)
    filters = {}
    for key, values in selections.items():
        if values:
            fieldname = FACET_FIELDS[key]
            terms = [wq.Term(fieldname, v) for v in values]
            filters[fieldname] = terms[0] if len(terms) == 1 else wq.Or(terms)
    base = None
    if params.date_from or params.date_to:
        start = datetime.datetime.combine(params.date_from, datetime.time.min) if params.date_from else None
        end = datetime.datetime.combine(params.date_to, datetime.time.max) if params.date_to else None
        base = wq.DateRange("published", start, end)
    return filters, base


def _selections(params: SearchParams) -> dict[str, tuple[str, ...]]:
    return {
        "source": tuple(dict.fromkeys(s for s in params.sources if s)),
        "author": tuple(dict.fromkeys(a for a in params.authors if a)),
        "tag": tuple(dict.fromkeys(t for t in params.tags if t)),
        "policy": tuple(dict.fromkeys(p for p in params.policies if p)),
        "year": tuple(dict.fromkeys(f"{int(y):04d}" for y in params.years)),
        "month": tuple(dict.fromkeys(params.months)),
    }


# --- entry point ----------------------------------------------------------------------


def _params_check(params: SearchParams) -> None:
    if params.sort not in SORTS:
        raise QuerySyntaxError("排序方式只能是：相关度、最新或最早。")
    for month in params.months:
        if not _MONTH_RE.match(month):
            raise QuerySyntaxError(f"月份“{month}”的格式不对，应写成 2024-05 这样。")
    if params.date_from and params.date_to and params.date_from > params.date_to:
        raise QuerySyntaxError("开始日期晚于结束日期，请调换一下。")


@dataclass(frozen=True)
class SearchMatches:
    """The index's part of a search: ranked ids, counts and facets, no database rows."""

    ids: list[int]  # ranked, up to the end of ``page``
    count: int
    page: int
    page_size: int
    num_pages: int
    facets: dict[str, list[FacetValue]]
    needles: list[str]  # normalised query words, for highlighting

    @property
    def page_ids(self) -> list[int]:
        start = (self.page - 1) * self.page_size
        return self.ids[start : start + self.page_size]


def article_matches(*, params: SearchParams, using: str = "default") -> SearchMatches:
    """Parse, match, rank and count facets for ``params`` (raises ``QuerySyntaxError``).

    ``using`` names the haystack connection (the benchmark runs on its own).
    """
    _params_check(params)
    node = query_parse(text=params.q)
    dictionary_refresh()
    page_size = min(max(int(params.page_size), 1), MAX_PAGE_SIZE)
    page = max(int(params.page), 1)
    backend = _backend(using=using)
    if hasattr(backend, "article_search"):
        ids, count, raw_facets = _run_whoosh(
            backend=backend, node=node, params=params, page=page, page_size=page_size
        )
    else:
        ids, count, raw_facets = _run_haystack(
            node=node, params=params, page=page, page_size=page_size, using=using
        )
    num_pages = max(math.ceil(count / page_size), 1)
    return SearchMatches(
        ids=ids,
        count=count,
        page=min(page, num_pages),
        page_size=page_size,
        num_pages=num_pages,
        facets=_facets(raw=raw_facets, params=params),
        needles=query_needles(node),
    )


def article_search(*, params: SearchParams) -> SearchPage:
    matches = article_matches(params=params)
    # page_size=0 asks for the count and the facets only (charts): no result rows are loaded.
    counts_only = int(params.page_size) == 0
    return SearchPage(
        count=matches.count,
        page=matches.page,
        page_size=matches.page_size,
        num_pages=matches.num_pages,
        results=[] if counts_only else _hits(ids=matches.page_ids, needles=matches.needles),
        facets=matches.facets,
    )


def _backend(*, using: str):
    from haystack import connections

    return connections[using].get_backend()


def _run_whoosh(*, backend, node: Node | None, params: SearchParams, page: int, page_size: int):
    expand = getattr(backend, "terms_containing", None)
    span = getattr(backend, "terms_spanning", None)
    q = (
        _whoosh_compile(node, title_only=params.title_only, expand=expand, span=span)
        if node is not None
        else None
    )
    if node is not None and q is None:
        return [], 0, {}
    filters, base = _whoosh_filters(params)
    sort = params.sort
    if node is None and sort == "relevance":
        sort = "newest"
    result = backend.article_search(
        q=q,
        filters=filters,
        base_filter=base,
        facet_fields=list(FACET_FIELDS.values()),
        sort=sort,
        limit=page * page_size,
        collapse=params.collapse,
    )
    # Past the last page, ``limit`` exceeded the count, so the last page is in ``ids``.
    ids = result.ids
    return ids, result.count, result.facets


def _haystack_query(node: Node) -> str:
    kind, value = node
    if kind == "word":
        return " OR ".join(f'"{v}"' if len(text_words(v)) > 1 else v for v in synonyms_for(term=value))
    if kind == "phrase":
        return f'"{text_normalise_plain(value)}"'
    if kind == "not":
        return f"NOT ({_haystack_query(value)})"
    joiner = " OR " if kind == "or" else " AND "
    return "(" + joiner.join(f"({_haystack_query(c)})" for c in value) + ")"


def _run_haystack(*, node: Node | None, params: SearchParams, page: int, page_size: int, using: str):
    """Same search through ``SearchQuerySet`` for engines other than our Whoosh backend."""
    from haystack.inputs import Raw
    from haystack.query import SearchQuerySet

    sqs = SearchQuerySet(using=using).models(Article)
    if node is not None:
        field = "title" if params.title_only else "content"
        sqs = sqs.filter(**{field: Raw(_haystack_query(node))})
    for key, values in _selections(params).items():
        if values:
            sqs = sqs.filter(**{f"{FACET_FIELDS[key]}__in": list(values)})
    if params.date_from:
        sqs = sqs.filter(published__gte=params.date_from)
    if params.date_to:
        sqs = sqs.filter(published__lte=params.date_to)
    if params.sort == "newest" or (node is None and params.sort == "relevance"):
        sqs = sqs.order_by("-published")
    elif params.sort == "oldest":
        sqs = sqs.order_by("published")
    for fieldname in FACET_FIELDS.values():
        sqs = sqs.facet(fieldname, limit=FACET_LIMIT)
    count = sqs.count()
    last = max(math.ceil(count / page_size), 1)
    page = min(page, last)
    ids = [int(r.pk) for r in sqs[: page * page_size]]
    raw = {name: dict(values) for name, values in sqs.facet_counts().get("fields", {}).items()}
    return ids, count, raw


# --- results ---------------------------------------------------------------------------


def _hits(*, ids: list[int], needles: list[str]) -> list[Hit]:
    if not ids:
        return []
    rows = (
        Article.objects.filter(id__in=ids, status=Article.Status.PUBLISHED)
        .select_related("source")
        .prefetch_related(Prefetch("authors", queryset=Author.objects.only("id", "name")))
    )
    by_id = {a.id: a for a in rows}
    members = _story_members(story_ids={a.story_id for a in by_id.values() if a.story_id})
    hits = []
    for article_id in ids:
        article = by_id.get(article_id)
        if article is None:
            continue  # removed from the database, index not caught up yet
        body = article.body_text or article.summary or ""
        snippet_html, snippet = text_snippet(text=body, needles=needles)
        hits.append(
            Hit(
                id=article.id,
                title=article.title,
                url=article.get_absolute_url(),
                source=article.source.name,
                authors=tuple(a.name for a in article.authors.all()),
                published=article.published_on,
                title_html=text_highlight(text=article.title, needles=needles),
                snippet_html=snippet_html,
                snippet=snippet,
                story_id=article.story_id,
                story_size=len(members.get(article.story_id, ())) or 1,
                story_others=tuple(m for m in members.get(article.story_id, ()) if m.id != article.id),
            )
        )
    return hits


def _story_members(*, story_ids: set[int]) -> dict[int, list[StoryMember]]:
    """Published articles of each story, oldest first (one query for the whole page)."""
    if not story_ids:
        return {}
    out: dict[int, list[StoryMember]] = {}
    rows = (
        Article.objects.filter(story_id__in=story_ids, status=Article.Status.PUBLISHED)
        .order_by("published_on", "id")
        .values_list("id", "story_id", "title", "source__name", "published_on")
    )
    for article_id, story_id, title, source, published in rows:
        out.setdefault(story_id, []).append(
            StoryMember(
                id=article_id,
                title=title,
                url=reverse("article-detail", args=[article_id]),
                source=source,
                published=published,
            )
        )
    return out


def _facets(*, raw: dict[str, dict[str, int]], params: SearchParams) -> dict[str, list[FacetValue]]:
    selections = _selections(params)
    out: dict[str, list[FacetValue]] = {}
    for key, fieldname in FACET_FIELDS.items():
        counts = dict(raw.get(fieldname, {}))
        selected = set(selections[key])
        for value in selected:
            counts.setdefault(value, 0)
        if key in ("year", "month"):
            ordered = sorted(counts.items(), key=lambda kv: kv[0], reverse=True)
        else:
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        values = [FacetValue(value=v, count=c, selected=v in selected) for v, c in ordered]
        top = values[:FACET_LIMIT]
        top += [fv for fv in values[FACET_LIMIT:] if fv.selected]
        out[key] = top
    return out


# --- highlighting ------------------------------------------------------------------------


def _spans(norm: str, needles: list[str]) -> list[tuple[int, int, str]]:
    spans = []
    for needle in dict.fromkeys(n for n in needles if n.strip()):
        latin = needle.isascii()
        start = norm.find(needle)
        while start >= 0:
            end = start + len(needle)
            # Latin needles must not match inside a longer Latin word (5g in 15g).
            if not latin or (
                (start == 0 or not norm[start - 1].isascii() or not norm[start - 1].isalnum())
                and (end >= len(norm) or not norm[end].isascii() or not norm[end].isalnum())
            ):
                spans.append((start, end, needle))
            start = norm.find(needle, end)
    spans.sort(key=lambda s: (s[0], -(s[1] - s[0])))
    merged: list[tuple[int, int, str]] = []
    for span in spans:
        if merged and span[0] < merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], span[1]), last[2])
        else:
            merged.append(span)
    return merged


def _render(text: str, offsets: list[int], spans, start: int, end: int) -> str:
    """HTML for original ``text[start:end]`` with normalised ``spans`` marked."""
    parts = []
    cursor = start
    for s, e, _ in spans:
        o_start, o_end = offsets[s], offsets[e]
        if o_end <= start or o_start >= end:
            continue
        o_start, o_end = max(o_start, start), min(o_end, end)
        parts.append(html.escape(text[cursor:o_start]))
        parts.append(f"<mark>{html.escape(text[o_start:o_end])}</mark>")
        cursor = o_end
    parts.append(html.escape(text[cursor:end]))
    return "".join(parts)


def text_highlight(*, text: str, needles: list[str]) -> str:
    """The whole of ``text``, escaped, with every match wrapped in <mark>."""
    if not needles or not text:
        return html.escape(text)
    norm, offsets = text_normalise(text)
    return _render(text, offsets, _spans(norm, needles), 0, len(text))


def text_snippet(*, text: str, needles: list[str], size: int = SNIPPET_CHARS) -> tuple[str, str]:
    """(html, plain) window of about ``size`` characters around the densest matches."""
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return "", ""
    spans = []
    offsets: list[int] = []
    if needles:
        norm, offsets = text_normalise(text)
        spans = _spans(norm, needles)
    if not spans:
        plain = text[:size] + ("…" if len(text) > size else "")
        return html.escape(plain), plain
    best_start, best_score = offsets[spans[0][0]], -1
    for i, span in enumerate(spans[:200]):
        anchor = offsets[span[0]]
        window = {s[2] for s in spans[i:] if offsets[s[0]] < anchor + size - 20}
        if len(window) > best_score:
            best_start, best_score = anchor, len(window)
    start = max(best_start - size // 5, 0)
    end = min(start + size, len(text))
    start = max(min(start, end - size), 0)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    body_html = _render(text, offsets, spans, start, end)
    return f"{prefix}{body_html}{suffix}", f"{prefix}{text[start:end]}{suffix}"
