"""The Elasticsearch 7 server that scripts/elasticsearch.sh starts, seen from this project.

A smoke test of the service, not of the portal's search: it talks to the server with the
pinned ``elasticsearch`` client (the one haystack's elasticsearch7 backend imports), creates an
index of its own with the analysis settings that backend creates its indexes with (their ngram
and edge_ngram filters and the snowball analyzer come from scripts/elasticsearch-analysis),
indexes two Chinese documents, refreshes and queries them, and removes the index again.

Without a server at ``ELASTICSEARCH_URL`` (default http://127.0.0.1:9200) it is skipped, unless
``PORTAL_REQUIRE_ELASTICSEARCH=1`` (CI), where an unreachable server fails it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

pytestmark = pytest.mark.elasticsearch

ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "http://127.0.0.1:9200")

DOCUMENTS = {
    "1": {
        "django_ct": "articles.article",
        "django_id": "1",
        "title": "国务院办公厅关于推动新能源汽车下乡的通知",
        "text": "各地要完善县域充电设施，支持新能源汽车企业开展下乡活动，优化农村地区的售后服务网络。",
        "source": "国务院办公厅",
    },
    "2": {
        "django_ct": "articles.article",
        "django_id": "2",
        "title": "教育部关于加强中小学课后服务的指导意见",
        "text": "学校应当统筹安排课后服务时间，丰富体育、艺术和科普活动，减轻学生的作业负担。",
        "source": "教育部",
    },
}


@pytest.fixture(scope="module")
def client():
    from elasticsearch import Elasticsearch
    from elasticsearch.exceptions import ConnectionError as EsConnectionError
    from elasticsearch.exceptions import TransportError

    es = Elasticsearch([ELASTICSEARCH_URL], timeout=30, max_retries=0)
    try:
        info = es.info(request_timeout=3)
    except (EsConnectionError, TransportError) as exc:
        es.close()
        message = f"Elasticsearch not reachable at {ELASTICSEARCH_URL} ({exc.__class__.__name__})"
        if os.environ.get("PORTAL_REQUIRE_ELASTICSEARCH") == "1":
            pytest.fail(f"{message}: it is required here (scripts/elasticsearch.sh starts it)")
        pytest.skip(f"{message}: start it with `make elasticsearch`")
    assert info["version"]["number"].startswith("7."), info["version"]
    yield es
    es.close()


@contextmanager
def scratch_index(client) -> Iterator[str]:
    """A fresh index with haystack's elasticsearch7 analysis settings, deleted on the way out."""
    from haystack.backends.elasticsearch7_backend import Elasticsearch7SearchBackend

    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    text = {"type": "text", "analyzer": "snowball"}
    mappings = {
        "properties": {
            "django_ct": {"type": "keyword"},
            "django_id": {"type": "keyword"},
            "title": text,
            "text": text,
            "source": {"type": "keyword"},
        }
    }
    client.indices.create(
        index=name, settings=Elasticsearch7SearchBackend.DEFAULT_SETTINGS["settings"], mappings=mappings
    )
    try:
        yield name
    finally:
        client.indices.delete(index=name, ignore_unavailable=True)


def test_the_server_indexes_and_finds_chinese_documents(client):
    with scratch_index(client) as index:
        for doc_id, document in DOCUMENTS.items():
            client.index(index=index, id=doc_id, document=document)
        client.indices.refresh(index=index)

        assert client.count(index=index)["count"] == 2

        # Chinese has no spaces: the standard tokenizer makes one token a character, and a phrase
        # query keeps them in order, so the phrase matches one document and not the other's words.
        found = client.search(index=index, query={"match_phrase": {"text": "新能源汽车"}})
        assert [hit["_id"] for hit in found["hits"]["hits"]] == ["1"]
        assert found["hits"]["hits"][0]["_source"]["title"] == DOCUMENTS["1"]["title"]

        by_source = client.search(
            index=index,
            query={
                "bool": {
                    "must": {"match": {"title": "指导意见"}},
                    "filter": {"term": {"source": "教育部"}},
                }
            },
        )
        assert [hit["_id"] for hit in by_source["hits"]["hits"]] == ["2"]

        # The analyzers haystack's backend defines, and its default text analyzer, do what they say.
        tokens = client.indices.analyze(
            index=index, body={"analyzer": "edgengram_analyzer", "text": "Policy"}
        )
        assert [token["token"] for token in tokens["tokens"]][:3] == ["po", "pol", "poli"]
        stemmed = client.indices.analyze(index=index, body={"field": "text", "text": "the Policies"})
        assert [token["token"] for token in stemmed["tokens"]] == ["polici"]

    assert not client.indices.exists(index=index)
