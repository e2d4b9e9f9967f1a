"""The product's search as the benchmark calls it (the builder and its fresh web process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from search import highlight, selectors

from .corpus import CorpusPool, synthetic_doc_make

FIRST_PAGE = 10


def ours_search_call(*, alias: str, pool: CorpusPool, seed: int) -> Callable[[Any], int]:
    """The product's search for one query: what ``article_search`` does for the first page.

    The only step replaced is reading the ten result rows from the database: the
    synthetic documents have no rows, so their title and body are rebuilt from the
    seed and highlighted with the product's own functions.
    """

    def call(bench: Any) -> int:  # a run.BenchQuery
        params = selectors.SearchParams(
            q=bench.q,
            sources=bench.sources,
            date_from=bench.date_from,
            date_to=bench.date_to,
            sort=bench.sort,
            page=1,
            page_size=FIRST_PAGE,
        )
        matches = selectors.article_matches(params=params, using=alias)
        for pk in matches.page_ids:
            doc = synthetic_doc_make(pool=pool, pk=pk, seed=seed)
            highlight.text_highlight(text=doc.title, needles=matches.needles)
            highlight.text_snippet(text=doc.body, needles=matches.needles)
        return matches.count

    return call
