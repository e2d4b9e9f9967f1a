"""A search Elasticsearch answers 200 with a failed shard is asked again, never shown short."""

from __future__ import annotations

import elasticsearch
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
    refused = {"error": {"type": "index_not_found_exception", "reason": "no such index"}, "status": 404}
    with pytest.raises(elasticsearch.NotFoundError):
        answers_whole(lambda: [WHOLE, refused])
    overloaded = {"error": {"type": "es_rejected_execution_exception"}, "status": 429}
    with pytest.raises(elasticsearch.TransportError) as raised:
        answers_whole(lambda: [overloaded, WHOLE])
    assert raised.value.status_code == 429


# A node lost mid-search with both shard copies it had picked: 500, all shards failed.
PHASE = "search_phase_execution_exception"
LOST = {"error": {"type": PHASE, "reason": "all shards failed"}, "status": 500}
MALFORMED = {"error": {"type": PHASE, "reason": "failed to parse"}, "status": 400}


def refusal(answer: dict):
    def ask():
        kind = elasticsearch.exceptions.HTTP_EXCEPTIONS.get(answer["status"], elasticsearch.TransportError)
        raise kind(answer["status"], answer["error"]["type"], answer["error"])

    return ask


def test_a_search_that_lost_every_shard_is_asked_again_once():
    asked = [refusal(LOST), lambda: WHOLE]
    assert answer_whole(lambda: asked.pop(0)()) is WHOLE
    with pytest.raises(EngineUnavailable, match="部分数据"):
        answer_whole(refusal(LOST))


def test_a_malformed_search_is_not_asked_again():
    asked = [refusal(MALFORMED), lambda: WHOLE]
    with pytest.raises(elasticsearch.RequestError):
        answer_whole(lambda: asked.pop(0)())
    assert len(asked) == 1


def test_searches_asked_together_are_asked_again_when_one_lost_every_shard():
    asked = [[WHOLE, LOST], [WHOLE, WHOLE]]
    assert answers_whole(lambda: asked.pop(0)) == [WHOLE, WHOLE]
    with pytest.raises(EngineUnavailable):
        answers_whole(lambda: [LOST, WHOLE])
    with pytest.raises(elasticsearch.RequestError):
        answers_whole(lambda: [WHOLE, MALFORMED])
