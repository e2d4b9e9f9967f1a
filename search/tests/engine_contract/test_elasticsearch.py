"""The contract suite on the Elasticsearch engine (a real node, an index of this test run's own).

The engine runs on a haystack connection alias of its own (as ``search.bench.configs`` does),
so the test settings' default (Whoosh) is untouched. Without a node at ``ELASTICSEARCH_URL``
the suite is skipped, unless ``PORTAL_REQUIRE_ELASTICSEARCH=1`` (CI), where it fails.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator

import elasticsearch
import pytest
from django.conf import settings
from django.core.management import call_command
from haystack import connections

from articles.tests.factories import article_make
from search.engines.contract import IndexBusy, QueryPlan
from search.engines.elasticsearch.engine import ElasticsearchSearchEngine

from .base import EngineContract, identifier, published_rows

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
    # two shards, as the site's default: facet counts, story counts and ranking must not
    # depend on how the documents are spread
    settings.HAYSTACK_CONNECTIONS[alias] = {
        "ENGINE": ENGINE,
        "URL": url,
        "INDEX_NAME": name,
        "TIMEOUT": 30,
        "SHARDS": 2,
    }
    try:
        yield alias
    finally:
        with contextlib.suppress(Exception):
            connections[alias].get_backend().delete_index()
        connections.thread_local.connections.pop(alias, None)
        settings.HAYSTACK_CONNECTIONS.pop(alias, None)


@contextlib.contextmanager
def default_on_elasticsearch(*, settings) -> Iterator[str]:
    """The ``default`` connection on a fresh Elasticsearch index, in every thread of this
    process (a live server's too), until the block ends; yields the index name."""
    node_required()
    name = f"portal_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    saved = connections.connections_info["default"]
    settings.SEARCH_BACKEND = "elasticsearch"
    connections.connections_info["default"] = {
        **settings.SEARCH_ENGINE_CONNECTIONS["elasticsearch"],
        "INDEX_NAME": name,
    }
    # every thread's cached connection is made again from the above
    connections.thread_local = threading.local()
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            connections["default"].get_backend().delete_index()
        connections.connections_info["default"] = saved
        connections.thread_local = threading.local()


@pytest.fixture(scope="module")
def node():
    node_required()


class TestElasticsearchEngine(EngineContract):
    @pytest.fixture
    def engine(self, db, node):
        with elasticsearch_connection() as alias:
            engine = ElasticsearchSearchEngine(using=alias)
            yield engine


# --- what only this engine has: haystack's commands, a cluster refusing writes, old mappings ---


@pytest.fixture
def alias(db, node):
    with elasticsearch_connection() as alias:
        yield alias


def test_haystack_rebuild_update_and_clear_index_work_on_the_engine(
    alias, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        article = article_make(title="增值税留抵退税政策延续", body="纳税人可申请退还增量留抵税额。")
    call_command("rebuild_index", using=[alias], interactive=False, verbosity=0)
    engine = ElasticsearchSearchEngine(using=alias)
    assert EngineContract.search(engine, q="税").ids == (article.id,)
    assert set(engine.documents_indexed()) == {article.id}
    call_command("update_index", using=[alias], verbosity=0)
    assert engine.health().documents == 1
    call_command("clear_index", using=[alias], interactive=False, verbosity=0)
    assert engine.search(QueryPlan(query=None)).count == 0


@pytest.mark.parametrize("block", ["index.blocks.write", "index.blocks.read_only_allow_delete"])
def test_a_cluster_refusing_writes_makes_the_index_busy(alias, block, django_capture_on_commit_callbacks):
    engine = ElasticsearchSearchEngine(using=alias)
    with django_capture_on_commit_callbacks(execute=False):
        article = article_make(title="数据出境安全评估办法")
    engine.documents_apply(objects=published_rows([article.pk]), remove_ids=())
    backend = engine.backend
    backend.conn.indices.put_settings(index=backend.index_name, body={block: True})
    try:
        with pytest.raises(IndexBusy):
            engine.documents_apply(objects=published_rows([article.pk]), remove_ids=())
    finally:
        backend.conn.indices.put_settings(index=backend.index_name, body={block: None})
    # reading goes on meanwhile, and the same call succeeds once the block is lifted
    assert EngineContract.search(engine, q="出境").ids == (article.id,)
    engine.documents_apply(objects=(), remove_ids=[identifier(article)])
    assert EngineContract.search(engine, q="出境").ids == ()


def test_an_index_made_with_haystacks_default_mapping_asks_for_a_rebuild(alias):
    engine = ElasticsearchSearchEngine(using=alias)
    backend = engine.backend
    backend.conn.indices.create(
        index=backend.index_name,
        mappings={"properties": {"text": {"type": "text", "analyzer": "standard"}}},
    )
    health = engine.health()
    assert health.exists and not health.schema_current
    assert "rebuild_index" in health.hint


def test_a_search_after_the_index_was_deleted_elsewhere_finds_nothing_and_no_error(alias):
    engine = ElasticsearchSearchEngine(using=alias)
    assert engine.search(QueryPlan(query=None)).count == 0  # makes the index
    engine.backend.conn.indices.delete(index=engine.backend.index_name)  # another process's clear
    assert EngineContract.search(engine, q="税").ids == ()
    assert engine.health().exists


def test_a_write_after_the_index_was_deleted_elsewhere_makes_it_with_our_mapping(
    alias, django_capture_on_commit_callbacks
):
    engine = ElasticsearchSearchEngine(using=alias)
    with django_capture_on_commit_callbacks(execute=False):
        article = article_make(title="增值税留抵退税政策延续")
    engine.documents_apply(objects=published_rows([article.pk]), remove_ids=())
    engine.backend.conn.indices.delete(index=engine.backend.index_name)  # another process's clear
    engine.documents_apply(objects=published_rows([article.pk]), remove_ids=())
    assert engine.health().schema_current
    assert EngineContract.search(engine, q="税").ids == (article.id,)


def test_words_are_expanded_from_the_word_index_and_rewriting_them_is_harmless(
    alias, django_capture_on_commit_callbacks
):
    engine = ElasticsearchSearchEngine(using=alias)
    with django_capture_on_commit_callbacks(execute=False):
        article = article_make(title="APT28 利用 Windows11 漏洞", body="攻击者利用 CVE-2024-3094 后门。")
    rows = published_rows([article.pk])
    engine.documents_apply(objects=rows, remove_ids=())
    assert engine.terms_expand(fieldname="text", needle="apt") == ["apt28"]
    assert engine.terms_expand(fieldname="title", needle="windows") == ["windows11"]
    assert engine.terms_expand(fieldname="text", needle="2024") == ["cve-2024-3094"]
    assert engine.terms_expand(fieldname="text", needle="202") == []
    assert engine.terms_expand(fieldname="title", needle="后") == []  # a body word only
    # another process (or a restart) writes the same words again: they exist already (409)
    engine.backend.lexicon.forget_written()
    engine.documents_apply(objects=rows, remove_ids=())
    assert EngineContract.search(engine, q="apt").ids == (article.id,)
