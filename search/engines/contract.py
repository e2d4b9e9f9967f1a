"""What every search engine promises: index documents, answer a ``QueryPlan``, report health.

The plan is engine-neutral: the parsed query as a small tree whose leaves carry their
analysed spellings (the words jieba found, the runs of Chinese/Latin/document-number text,
the units an unquoted query requires), the filters as facet names and values, and the
sort, depth and collapse wanted. Each engine compiles it into its own query language
(Whoosh queries, Elasticsearch's DSL) and ranks with its own scoring; the contract suite
(``search/tests/engine_contract``) holds every engine to the same behaviour.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Sort = Literal["relevance", "newest", "oldest"]


@dataclass(frozen=True)
class Segment:
    """One run of a spelling: ``cjk``, ``alnum`` or ``docnum`` text, normalised, and its words."""

    kind: str
    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Spelling:
    """One way to write a query term: as typed (``synonym`` False) or one of its synonyms.

    ``units`` are the groups of words an unquoted query needs somewhere in the article
    (see ``search.query.query_units``); a spelling with no words matches nothing.
    """

    text: str
    words: tuple[str, ...]
    segments: tuple[Segment, ...]
    units: tuple[tuple[str, ...], ...]
    synonym: bool = False


@dataclass(frozen=True)
class Term:
    """A word or a quoted phrase (``phrase``: word for word) with its spellings, typed first."""

    text: str
    phrase: bool
    spellings: tuple[Spelling, ...]


@dataclass(frozen=True)
class AllOf:
    """Every positive child must match; a ``Not`` child excludes."""

    children: tuple[QueryNode, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[QueryNode, ...]


@dataclass(frozen=True)
class Not:
    child: QueryNode


QueryNode = Term | AllOf | AnyOf | Not


@dataclass(frozen=True)
class FacetFilter:
    """Selected values of one facet (``search.facets``): any of them matches (OR)."""

    facet: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class QueryPlan:
    """One search, ready for an engine.

    ``query`` None lists every document. Filters of different facets combine with AND;
    each facet in ``facets`` is counted with every filter applied except its own, so the
    page can offer the other values of a facet already narrowed (multi-select faceting).
    ``limit`` is how many ranked ids to return (the end of the page asked for).
    With ``collapse`` only the first-ranked document of each story (repost group) is
    kept and ``count`` counts stories; facet counts still count documents.
    """

    query: QueryNode | None
    title_only: bool = False
    filters: tuple[FacetFilter, ...] = ()
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    sort: Sort = "relevance"
    limit: int = 20
    collapse: bool = True
    facets: tuple[str, ...] = ()


class IndexBusy(Exception):
    """The index cannot be written now (another writer holds it longer than the engine
    waits, a search server refuses writes or cannot be reached): the same call may simply
    be made again later. Nothing was written, or only documents the next call writes again."""


class IndexBuildFailed(Exception):
    """A build (``documents_build``) stopped before it published anything; the message says
    what to do."""


class EngineUnavailable(Exception):
    """The engine cannot be reached or refuses to answer (a search server that is down):
    pages show a message instead of results, and nothing is lost by asking again later."""


@dataclass(frozen=True)
class EngineResult:
    ids: tuple[int, ...]  # article ids, ranked, at most ``plan.limit``
    count: int  # matching documents (stories when collapsed)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # facet name → value → count
    # matching documents, collapsed or not: the unit facets and charts count in
    documents: int | None = None

    @property
    def document_count(self) -> int:
        return self.count if self.documents is None else self.documents


@dataclass(frozen=True)
class EngineHealth:
    """What ``search_check`` reports about the index."""

    exists: bool
    documents: int
    # False when the index was written in an older format than the code writes today
    # (it still answers, maybe slower); ``hint`` says how to bring it up to date.
    schema_current: bool = True
    hint: str = ""
    # one line on how the index is stored (Whoosh: its segments and merges under way)
    detail: str = ""


@runtime_checkable
class SearchEngine(Protocol):
    """The search engine behind the search page, the API, feeds and the index worker."""

    # Whether several processes may write at once (the index queue's consumer can be a pool).
    concurrent_writes: bool

    def documents_apply(self, *, objects: Sequence[object], remove_ids: Iterable[str]) -> None:
        """Index (add or replace) the articles ``objects`` and delete the documents whose
        haystack identifiers (``articles.article.<pk>``) are ``remove_ids``; visible to the
        next ``search`` once this returns. Raises ``IndexBusy`` when it cannot write now."""
        ...

    def search(self, plan: QueryPlan) -> EngineResult:
        """Match, rank, collapse and count facets for ``plan``. Raises ``EngineUnavailable``
        when the engine cannot answer now."""
        ...

    def terms_expand(self, *, fieldname: str, needle: str) -> list[str]:
        """Indexed words of ``fieldname`` (``text`` or ``title``) that contain ``needle``
        (心理 → 心理健康, 税 → 增值税), most frequent first when there are many."""
        ...

    def documents_indexed(self) -> dict[int, str]:
        """Article id → the ``updated`` value it was indexed with (for ``search_check``)."""
        ...

    def health(self) -> EngineHealth: ...

    def clear(self) -> None:
        """Remove every document."""
        ...

    def documents_build(
        self,
        *,
        index: object,
        queryset: object,
        jobs: int,
        batch_size: int,
        on_batch: Callable[[int], None],
        on_merge: Callable[[object], None] | None = None,
    ) -> int | None:
        """Index every article of ``queryset`` into an empty index, with ``jobs`` processes
        where the engine can; returns how many, or None when the engine has no such path or
        the index is not empty (then ``documents_apply`` batch by batch). ``on_merge`` hears
        of each merge the build makes, as ``maintain``'s does."""
        ...

    def maintain(self, *, wait: bool, jobs: int = 1, on_merge: Callable[[object], None] | None = None) -> int:
        """Housekeeping after writes (merging index segments); ``wait=False`` may run it in the
        background. Returns how many merges ran before it returned."""
        ...
