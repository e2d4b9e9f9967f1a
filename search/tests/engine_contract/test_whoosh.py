"""The contract suite on the Whoosh engine (a real index in the test temp dir)."""

from __future__ import annotations

import pytest

from search.engines import engine_get
from search.engines.whoosh.engine import WhooshSearchEngine

from .base import EngineContract


class TestWhooshEngine(EngineContract):
    @pytest.fixture
    def engine(self, db):
        engine = engine_get()
        assert isinstance(engine, WhooshSearchEngine)
        engine.clear()
        yield engine
        engine.clear()
