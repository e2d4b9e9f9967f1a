"""A search Elasticsearch answers 200 with a failed shard is asked again, never shown short."""

from __future__ import annotations

import pytest

from search.engines.contract import EngineUnavailable
from search.engines.elasticsearch.answers import answer_whole, answers_whole

WHOLE = {"_shards": {"total": 2, "successful": 2, "failed": 0}, "hits": {"hits": [1, 2]}}
PARTIAL = {"_shards": {"total": 2, "successful": 1, "failed": 1}, "hits": {"hits": [1]}}


def asker(*answers: dict):
    asked = list(answers)
    return lambda: asked.pop(0)


def test_a_whole_answer_is_taken_at_once():
    assert answer_whole(asker(WHOLE)) is WHOLE


def test_a_partial_answer_is_asked_again_once():
    assert answer_whole(asker(PARTIAL, WHOLE)) is WHOLE


def test_two_partial_answers_make_the_engine_unavailable_rather_than_a_short_page():
    with pytest.raises(EngineUnavailable, match="部分数据"):
        answer_whole(asker(PARTIAL, PARTIAL, WHOLE))


def test_searches_asked_together_are_asked_again_when_one_is_partial():
    asked = [[WHOLE, PARTIAL], [WHOLE, WHOLE]]
    assert answers_whole(lambda: asked.pop(0)) == [WHOLE, WHOLE]


def test_a_search_refused_inside_a_multi_search_raises_like_a_refused_request():
    import elasticsearch

    refused = {"error": {"type": "index_not_found_exception", "reason": "no such index"}, "status": 404}
    with pytest.raises(elasticsearch.NotFoundError):
        answers_whole(lambda: [WHOLE, refused])
    overloaded = {"error": {"type": "es_rejected_execution_exception"}, "status": 429}
    with pytest.raises(elasticsearch.TransportError) as raised:
        answers_whole(lambda: [overloaded, WHOLE])
    assert raised.value.status_code == 429
