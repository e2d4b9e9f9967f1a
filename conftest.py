from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS_DIR = Path(os.environ.get("PORTAL_CORPUS_DIR", Path(__file__).resolve().parent.parent / "shared" / "corpus"))
REDIS_TEST_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir() or not any(CORPUS_DIR.glob("*.md")):
        pytest.skip(f"real corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR
