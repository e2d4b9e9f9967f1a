"""The engine is chosen by settings.SEARCH_BACKEND through one registry."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from haystack import connections

from search.engines import engine_get, engine_select
from search.engines.contract import SearchEngine
from search.engines.elasticsearch.engine import ElasticsearchSearchEngine
from search.engines.whoosh.engine import WhooshSearchEngine


def test_whoosh_is_the_default_engine_and_keeps_the_contract(settings):
    settings.SEARCH_BACKEND = "whoosh"
    engine = engine_get()
    assert isinstance(engine, WhooshSearchEngine)
    assert isinstance(engine, SearchEngine)


def test_elasticsearch_is_an_engine_of_its_own_connection(settings):
    # building the engine asks nothing of the server, so this runs without one
    settings.SEARCH_BACKEND = "elasticsearch"
    alias = "registry_elasticsearch"
    settings.HAYSTACK_CONNECTIONS[alias] = {
        "ENGINE": "search.engines.elasticsearch.backend.ChineseElasticsearchEngine",
        "URL": "http://127.0.0.1:9/",
        "INDEX_NAME": "portal_test_registry",
    }
    try:
        engine = engine_get(using=alias)
        assert isinstance(engine, ElasticsearchSearchEngine)
        assert isinstance(engine, SearchEngine)
    finally:
        connections.thread_local.connections.pop(alias, None)
        settings.HAYSTACK_CONNECTIONS.pop(alias, None)


def test_the_engine_follows_its_connection(settings):
    # a benchmark holds a Whoosh and an Elasticsearch connection in one process
    settings.SEARCH_BACKEND = "elasticsearch"
    assert isinstance(engine_get(), WhooshSearchEngine)  # the test settings' default is Whoosh
    settings.SEARCH_BACKEND = "whoosh"
    alias = "registry_elasticsearch_2"
    settings.HAYSTACK_CONNECTIONS[alias] = {
        **settings.SEARCH_ENGINE_CONNECTIONS["elasticsearch"],
        "URL": "http://127.0.0.1:9/",
    }
    try:
        assert isinstance(engine_get(using=alias), ElasticsearchSearchEngine)
    finally:
        connections.thread_local.connections.pop(alias, None)
        settings.HAYSTACK_CONNECTIONS.pop(alias, None)


def test_an_unknown_engine_is_a_configuration_error(settings):
    settings.SEARCH_BACKEND = "solr"
    with pytest.raises(ImproperlyConfigured, match="known engines"):
        engine_get()


def test_a_command_can_switch_this_process_to_another_engine(settings):
    # search_eval --engine: the default connection becomes the named engine's own
    settings.HAYSTACK_CONNECTIONS = {"default": dict(settings.HAYSTACK_CONNECTIONS["default"])}
    settings.SEARCH_ENGINE_CONNECTIONS = {
        **settings.SEARCH_ENGINE_CONNECTIONS,
        "elasticsearch": {
            **settings.SEARCH_ENGINE_CONNECTIONS["elasticsearch"],
            "URL": "http://127.0.0.1:9/",
        },
    }
    saved = connections.connections_info["default"]
    try:
        engine_select(name="elasticsearch")
        assert isinstance(engine_get(), ElasticsearchSearchEngine)
        engine_select(name="whoosh")
        assert isinstance(engine_get(), WhooshSearchEngine)
    finally:
        connections.connections_info["default"] = saved
        connections.reload("default")
    with pytest.raises(ImproperlyConfigured, match="未知的检索引擎"):
        engine_select(name="solr")
