"""A two-node Elasticsearch cluster loses a node under query load and loses nothing.

scripts/es_cluster_check.py does the work (its docstring says how): two extra nodes from the
installation scripts/elasticsearch.sh made, on free loopback ports and in a temporary folder,
2,000 documents in an index of 2 shards with 1 replica, four query threads, one node killed with
SIGKILL, fifteen seconds with one node, the node restarted on its own data. About a minute and
a half on the 2-core machine; the node on 9200 is not touched.

Without the installation it is skipped, unless ``PORTAL_REQUIRE_ELASTICSEARCH=1`` (CI), where
it fails. It uses no database, so it runs once, in the SQLite pass.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.elasticsearch, pytest.mark.cluster]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "es_cluster_check.py"
sys.path.insert(0, str(SCRIPT.parent))  # its sibling modules es_nodes.py and es_load.py
spec = importlib.util.spec_from_file_location("es_cluster_check", SCRIPT)
es_cluster_check = importlib.util.module_from_spec(spec)
sys.modules["es_cluster_check"] = es_cluster_check  # dataclasses look their module up while it loads
spec.loader.exec_module(es_cluster_check)

DOCUMENTS = 2000
# From the restart of the killed node (a JVM start, ~20 s here) to green again.
GREEN_WITHIN_SECONDS = 90


@pytest.fixture
def install():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("runs once, in the SQLite pass: it uses no database")
    try:
        return es_cluster_check.install_find()
    except es_cluster_check.Unavailable as exc:
        if os.environ.get("PORTAL_REQUIRE_ELASTICSEARCH") == "1":
            pytest.fail(f"{exc}: it is required here")
        pytest.skip(f"{exc}: install it with `make elasticsearch`")


def test_every_query_is_answered_while_a_node_is_killed_and_the_cluster_returns_to_green(install, caplog):
    # The client logs every request at INFO: thousands of lines that would bury a failure.
    caplog.set_level(logging.WARNING, logger="elasticsearch")
    report = es_cluster_check.run_check(
        install,
        docs=DOCUMENTS,
        threads=4,
        heap="320m",
        before=4,
        during=12,
        after=3,
        green_within=GREEN_WITHIN_SECONDS,
        say=print,
    )
    figures = report.table()
    print(figures)

    assert not report.killed_was_master, figures
    phases = {phase.name: phase for phase in report.phases}
    # Queries ran in every phase, and the one-node phase had real traffic to survive.
    assert all(phase.answered > 0 for phase in report.phases), figures
    assert phases["one node killed"].answered >= 20, figures
    # Zero unanswered: after at most one retry on the other node, every query came back complete
    # (all shards) and with the same numbers as on the healthy cluster.
    assert report.unanswered == 0, figures
    # Nothing lost: the count with two nodes, with one, and after the restart.
    counts = (report.docs_before_kill, report.docs_during_kill, report.docs_after_restart)
    assert counts == (DOCUMENTS, DOCUMENTS, DOCUMENTS), figures
    # The survivor saw the node go and kept its master (yellow, never red), then green again.
    assert report.kill_to_yellow_seconds is not None, figures
    assert not any(status.startswith("red") for status in report.statuses_seen_after_kill), figures
    assert report.restart_to_green_seconds is not None, figures
    assert report.restart_to_green_seconds <= GREEN_WITHIN_SECONDS, figures
    assert es_cluster_check.report_problems(report, green_within=GREEN_WITHIN_SECONDS) == []
