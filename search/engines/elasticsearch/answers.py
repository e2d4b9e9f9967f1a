"""Answers Elasticsearch gives as successes that are not whole."""

from __future__ import annotations

from collections.abc import Callable

import elasticsearch

from search.engines.contract import EngineUnavailable

PARTIAL_HINT = "检索服务的部分数据暂时无法读取，请稍后再试。"


def _shards_lost(status: object, kind: object) -> bool:
    """A search every shard of which failed on the server's side: the node holding the copies
    it had picked died between the query and fetch phases (the two-node check met it once in
    a CI run). The same case as a partial answer, only complete, so it is asked again too; a
    malformed query is a 400 with the same type and stays an error."""
    return isinstance(status, int) and status >= 500 and kind == "search_phase_execution_exception"


def answer_whole(ask: Callable[[], dict]) -> dict:
    """An answer from every shard. A node lost between a search's query and fetch phases makes
    Elasticsearch answer 200 with ``_shards.failed`` and hits missing (the fetch is not retried
    on another copy; the two-node check saw it in 3 runs of 9), or 500 when it was every shard:
    ask once more, and a second such answer is ``EngineUnavailable`` rather than a page that
    silently lacks results."""
    for _ in range(2):
        try:
            answer = ask()
        except elasticsearch.TransportError as exc:
            if not _shards_lost(exc.status_code, exc.error):
                raise
            continue
        if not answer.get("_shards", {}).get("failed"):
            return answer
    raise EngineUnavailable(PARTIAL_HINT)


def answers_whole(ask: Callable[[], list[dict]]) -> list[dict]:
    """``answer_whole`` for several searches asked at once (``msearch``): all are asked
    again when one of them is partial or lost every shard. A search the server refused
    otherwise is raised as the client raises a refused request."""
    for _ in range(2):
        answers = ask()
        lost = False
        for answer in answers:
            if "error" not in answer:
                continue
            status = int(answer.get("status", 500))
            error = answer["error"]
            kind = error.get("type", "search_error") if isinstance(error, dict) else str(error)
            if _shards_lost(status, kind):
                lost = True
                continue
            raise elasticsearch.exceptions.HTTP_EXCEPTIONS.get(status, elasticsearch.TransportError)(
                status, kind, error
            )
        if not lost and not any(answer.get("_shards", {}).get("failed") for answer in answers):
            return answers
    raise EngineUnavailable(PARTIAL_HINT)
