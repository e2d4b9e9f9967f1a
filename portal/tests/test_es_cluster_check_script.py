"""scripts/es_cluster_check.py's client side, without Elasticsearch: what counts as answered."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from elasticsearch.exceptions import ConnectionError as EsConnectionError
from elasticsearch.exceptions import ConnectionTimeout, TransportError

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# Loaded as the script loads it: its folder first on the path (the check's client side).
sys.path.insert(0, str(SCRIPTS))
spec = importlib.util.spec_from_file_location("es_load", SCRIPTS / "es_load.py")
es_cluster_check = importlib.util.module_from_spec(spec)
sys.modules["es_load"] = es_cluster_check  # dataclasses look their module up while it loads
spec.loader.exec_module(es_cluster_check)

PARTIAL = {"partial": {"total": 2, "successful": 1, "failed": 1}}


def query_answering(*answers):
    """A query whose successive runs return (or raise) ``answers`` in turn."""
    pending = list(answers)

    def run(es):
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return es_cluster_check.Query("term", run)


def test_an_answer_with_the_expected_numbers_is_answered_at_once():
    sample = es_cluster_check.ask(None, query_answering(250), 250)
    assert (sample.outcome, sample.retried, sample.partial) == ("answered", False, False)


def test_a_connection_error_or_a_503_is_retried_once():
    for first in (EsConnectionError("N/A", "refused", None), TransportError(503, "unavailable", {})):
        sample = es_cluster_check.ask(None, query_answering(first, 250), 250)
        assert (sample.outcome, sample.retried) == ("answered", True)
    sample = es_cluster_check.ask(
        None,
        query_answering(EsConnectionError("N/A", "refused", None), EsConnectionError("N/A", "x", None)),
        250,
    )
    assert (sample.outcome, sample.retried) == ("failed", True)


def test_a_partial_answer_is_retried_and_never_counted_as_answered():
    sample = es_cluster_check.ask(None, query_answering(PARTIAL, 250), 250)
    assert (sample.outcome, sample.retried, sample.partial) == ("answered", True, True)
    sample = es_cluster_check.ask(None, query_answering(PARTIAL, PARTIAL), 250)
    assert (sample.outcome, sample.partial) == ("failed", True)
    assert "partial answer" in sample.error
    # Asked again after a partial answer, the client still has its own retry for the dead node.
    refused = EsConnectionError("N/A", "refused", None)
    sample = es_cluster_check.ask(None, query_answering(PARTIAL, refused, 250), 250)
    assert (sample.outcome, sample.retried, sample.partial) == ("answered", True, True)


def test_a_time_out_or_a_wrong_number_is_not_retried():
    sample = es_cluster_check.ask(None, query_answering(ConnectionTimeout("TIMEOUT", "slow", None), 250), 250)
    assert (sample.outcome, sample.retried) == ("failed", False)
    sample = es_cluster_check.ask(None, query_answering(249, 250), 250)
    assert (sample.outcome, sample.retried) == ("wrong", False)
