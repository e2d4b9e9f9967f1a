"""Settings for the test suite: the real settings with cheap hashing and a private var dir."""

from __future__ import annotations

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

# Each test process gets its own index and inbox so parallel runs never share state.
TEST_VAR_DIR = Path(tempfile.mkdtemp(prefix="portal-test-"))
SEARCH_INDEX_DIR = TEST_VAR_DIR / "whoosh_index"
HAYSTACK_CONNECTIONS["default"]["PATH"] = str(SEARCH_INDEX_DIR)  # noqa: F405
INGEST_INBOX_DIR = TEST_VAR_DIR / "inbox"
JIEBA_CACHE_DIR = TEST_VAR_DIR / "jieba"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not the in-memory default, so a worker thread in the same test sees the same rows.
    DATABASES["default"]["TEST"] = {"NAME": str(TEST_VAR_DIR / "test.sqlite3")}  # noqa: F405
STATIC_ROOT = TEST_VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# In-process commands in tests run inside a test transaction: no forks (the tests that fork
# run the command in a process of their own with --jobs).
INGEST_INLINE_JOBS = 1
# the test database may live in memory: forked build processes would not see it
SEARCH_BUILD_JOBS = 1
