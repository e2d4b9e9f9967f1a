"""The repo's gunicorn config, under a modest open-loop load, answers everything in time.

Not a speed test: the rate is far below what two cores sustain, so a slow CI machine passes too.
It checks that the real server (config, worker class, shedding middleware, production settings)
serves the mixed load of scripts/load_test.py without one error or one late answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from haystack import connections

from portal.tests.live_gunicorn import (
    LOAD_TEST_SCRIPT,
    REPO_DIR,
    gunicorn_running,
    production_env,
    static_collect,
)

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True)]

DEMO_CORPUS_DIR = REPO_DIR / "demo" / "corpus"
RATE = 5
DURATION = 10
CLIENT_TIMEOUT = 10


def index_clear() -> None:
    connections["default"].get_backend().clear()


@pytest.fixture
def demo_articles() -> None:
    """The demo corpus through the real ingest command; the server must see committed rows."""
    index_clear()
    try:
        call_command("ingest", str(DEMO_CORPUS_DIR), "--sync", "--no-progress", stdout=StringIO())
    except CommandError:
        pass  # the demo's broken_* files fail on purpose; the good ones are in
    yield
    index_clear()


def test_it_answers_a_mixed_load_without_errors_or_late_requests(demo_articles, tmp_path: Path):
    env = production_env(var_dir=tmp_path)
    static_collect(env)
    report = tmp_path / "load.json"
    with gunicorn_running(var_dir=tmp_path, env=env) as server:
        result = subprocess.run(
            [
                sys.executable,
                str(LOAD_TEST_SCRIPT),
                "--url",
                server.url,
                "--rate",
                str(RATE),
                "--duration",
                str(DURATION),
                "--timeout",
                str(CLIENT_TIMEOUT),
                "--progress",
                "0",
                "--json",
                str(report),
            ],
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=DURATION + 4 * CLIENT_TIMEOUT,
        )
        log = server.log()
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n--- gunicorn ---\n{log}"
    summary = json.loads(report.read_text(encoding="utf-8"))
    assert summary["started"] == RATE * DURATION
    assert summary["completed"] == summary["started"]
    assert summary["error_total"] == 0, summary["errors"]
    assert summary["older_than_timeout"] == 0
    # Every part of the mix was exercised, so "no errors" covers all of them.
    assert {"search word", "search phrase", "api search", "article page", "home", "feed"} <= set(
        summary["by_kind"]
    )
