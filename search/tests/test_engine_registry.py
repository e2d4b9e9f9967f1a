"""The engine is chosen by settings.SEARCH_BACKEND through one registry."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from search.engines import engine_get
from search.engines.contract import SearchEngine
from search.engines.whoosh.engine import WhooshSearchEngine


def test_whoosh_is_the_default_engine_and_keeps_the_contract(settings):
    settings.SEARCH_BACKEND = "whoosh"
    engine = engine_get()
    assert isinstance(engine, WhooshSearchEngine)
    assert isinstance(engine, SearchEngine)


def test_an_engine_not_implemented_yet_is_a_configuration_error(settings):
    settings.SEARCH_BACKEND = "elasticsearch"
    with pytest.raises(ImproperlyConfigured, match="elasticsearch"):
        engine_get()


def test_an_unknown_engine_is_a_configuration_error(settings):
    settings.SEARCH_BACKEND = "solr"
    with pytest.raises(ImproperlyConfigured, match="known engines"):
        engine_get()
