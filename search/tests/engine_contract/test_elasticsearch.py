"""The contract suite on the Elasticsearch engine (a real node, an index of this test run's own).

The engine runs on a haystack connection alias of its own (as ``search.bench.configs`` does),
so the test settings' default (Whoosh) is untouched. Without a node at ``ELASTICSEARCH_URL``
the suite is skipped, unless ``PORTAL_REQUIRE_ELASTICSEARCH=1`` (CI), where it fails.
"""

from __future__ import annotations

import contextlib
import os
import uuid

import elasticsearch
import pytest
from django.conf import settings
from haystack import connections

from search.engines.elasticsearch.engine import ElasticsearchSearchEngine

from .base import EngineContract

pytestmark = pytest.mark.elasticsearch

ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
ENGINE = "search.engines.elasticsearch.backend.ChineseElasticsearchEngine"


def node_required() -> None:
    """Skip (or, where the node is required, fail) when no Elasticsearch 7 answers."""
    client = elasticsearch.Elasticsearch([ELASTICSEARCH_URL], timeout=5, max_retries=0)
    try:
        version = client.info(request_timeout=3)["version"]["number"]
    except elasticsearch.TransportError as exc:
        message = f"Elasticsearch not reachable at {ELASTICSEARCH_URL} ({exc.__class__.__name__})"
        if os.environ.get("PORTAL_REQUIRE_ELASTICSEARCH") == "1":
            pytest.fail(f"{message}: it is required here (scripts/elasticsearch.sh starts it)")
        pytest.skip(f"{message}: start it with `make elasticsearch`")
    finally:
        client.close()
    assert version.startswith("7."), version


@contextlib.contextmanager
def elasticsearch_connection(*, url: str = ELASTICSEARCH_URL):
    """A haystack connection alias on the Elasticsearch engine with a fresh index, deleted after."""
    name = f"portal_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    alias = f"es_{name}"
    settings.HAYSTACK_CONNECTIONS[alias] = {"ENGINE": ENGINE, "URL": url, "INDEX_NAME": name, "TIMEOUT": 30}
    try:
        yield alias
    finally:
        with contextlib.suppress(Exception):
            connections[alias].get_backend().delete_index()
        connections.thread_local.connections.pop(alias, None)
        settings.HAYSTACK_CONNECTIONS.pop(alias, None)


@pytest.fixture(scope="module")
def node():
    node_required()


class TestElasticsearchEngine(EngineContract):
    @pytest.fixture
    def engine(self, db, node):
        with elasticsearch_connection() as alias:
            engine = ElasticsearchSearchEngine(using=alias)
            yield engine
