"""Answers Elasticsearch gives as successes that are not whole."""

from __future__ import annotations

from collections.abc import Callable

from search.engines.contract import EngineUnavailable


def answer_whole(ask: Callable[[], dict]) -> dict:
    """An answer from every shard. A node lost between a search's query and fetch phases makes
    Elasticsearch answer 200 with ``_shards.failed`` and hits missing (the fetch is not retried
    on another copy; the two-node check saw it in 3 runs of 9): ask once more, and a second
    partial answer is ``EngineUnavailable`` rather than a page that silently lacks results."""
    for _ in range(2):
        answer = ask()
        if not answer.get("_shards", {}).get("failed"):
            return answer
    raise EngineUnavailable("检索服务的部分数据暂时无法读取，请稍后再试。")
