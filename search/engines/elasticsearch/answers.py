"""Answers Elasticsearch gives as successes that are not whole."""

from __future__ import annotations

from collections.abc import Callable

import elasticsearch

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


def answers_whole(ask: Callable[[], list[dict]]) -> list[dict]:
    """``answer_whole`` for several searches asked at once (``msearch``): all are asked
    again when one of them is partial. A search the server refused is raised as the client
    raises a refused request."""
    for _ in range(2):
        answers = ask()
        for answer in answers:
            if "error" in answer:
                status = int(answer.get("status", 500))
                error = answer["error"]
                kind = error.get("type", "search_error") if isinstance(error, dict) else str(error)
                raise elasticsearch.exceptions.HTTP_EXCEPTIONS.get(status, elasticsearch.TransportError)(
                    status, kind, error
                )
        if not any(answer.get("_shards", {}).get("failed") for answer in answers):
            return answers
    raise EngineUnavailable("检索服务的部分数据暂时无法读取，请稍后再试。")
