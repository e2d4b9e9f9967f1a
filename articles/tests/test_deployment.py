"""The deployment files describe the stack the guide promises."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .processes import manage

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_runs_web_redis_postgres_workers_and_a_single_index_consumer():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"web", "redis", "postgres", "ingest-worker", "index-worker", "beat"} <= set(services)
    index_cmd = services["index-worker"]["command"]
    assert "-Q index" in index_cmd and "--concurrency 1" in index_cmd
    assert "-Q ingest" in services["ingest-worker"]["command"]
    for name in ("web", "ingest-worker", "index-worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["DJANGO_DEBUG"] == "false"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["redis"] and "healthcheck" in services["postgres"]


def test_docker_compose_keeps_redis_on_disk_so_a_restart_keeps_queued_wake_ups():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    redis = compose["services"]["redis"]
    assert "--appendonly yes" in redis["command"]
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_the_elasticsearch_override_switches_every_app_service_to_the_profiled_elasticsearch():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    override = yaml.safe_load((ROOT / "docker-compose.elasticsearch.yml").read_text(encoding="utf-8"))
    elasticsearch = compose["services"]["elasticsearch"]
    assert elasticsearch["profiles"] == ["elasticsearch"]
    assert "healthcheck" in elasticsearch
    # The override only adds to services the main file defines, and all four app services.
    assert set(override["services"]) == {"web", "ingest-worker", "index-worker", "beat"}
    # Elasticsearch takes concurrent writers: its index consumer is a pool (Whoosh's is one).
    index_cmd = override["services"]["index-worker"]["command"]
    assert "-Q index" in index_cmd and "--concurrency 2" in index_cmd
    for name, service in override["services"].items():
        assert "SEARCH_BACKEND" not in compose["services"][name]["environment"]  # Whoosh by default
        assert service["environment"] == {
            "SEARCH_BACKEND": "elasticsearch",
            "ELASTICSEARCH_URL": "http://elasticsearch:9200",
        }
        assert service["depends_on"]["elasticsearch"]["condition"] == "service_healthy"


# The report-only mode is checked too: django-csp's check refuses settings named like its
# pre-4.0 ones, which is easy to trip over when wiring a report switch.
@pytest.mark.parametrize(
    "csp_env",
    [{}, {"CSP_REPORT_ONLY": "true", "CSP_REPORT_URI": "https://csp-reports.example.cn/portal"}],
    ids=["enforced-policy", "report-only-policy"],
)
def test_production_settings_pass_the_deploy_check(csp_env: dict[str, str]):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-for-the-check-only-9f8e7d",
        "DJANGO_ALLOWED_HOSTS": "portal.example.cn",
        **csp_env,
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "DJANGO_DEBUG": "false"}
    env.pop("DJANGO_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_elasticsearch_url_may_name_every_node_of_a_cluster():
    script = (
        "from django.conf import settings; from haystack import connections; "
        "print('URL=%r' % (settings.HAYSTACK_CONNECTIONS['default']['URL'],)); "
        "print('HOSTS=%d' % len(connections['default'].get_backend().conn.transport.hosts))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SEARCH_BACKEND": "elasticsearch",
        "ELASTICSEARCH_URL": "http://10.0.0.1:9200, http://10.0.0.2:9200",
    }
    result = manage("shell", "-c", script, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "URL=['http://10.0.0.1:9200', 'http://10.0.0.2:9200']" in result.stdout
    assert "HOSTS=2" in result.stdout


def test_a_malformed_broker_url_is_refused_at_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "CELERY_BROKER_URL": "localhost:6379"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "CELERY_BROKER_URL" in result.stderr


def policy_headers(*, env: dict[str, str]) -> dict[str, str]:
    """The CSP headers of the admin login page, from a process started with ``env``."""
    script = (
        "import json; from django.test import Client; "
        "r = Client().get('/admin/login/', HTTP_HOST='localhost'); "
        "print('HEADERS=' + json.dumps({k: v for k, v in r.items() if 'Security-Policy' in k}))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("HEADERS="))
    return json.loads(line.removeprefix("HEADERS="))


def test_the_policy_is_enforced_unless_report_only_is_switched_on(tmp_path: Path):
    enforced = policy_headers(env={"PORTAL_VAR_DIR": str(tmp_path)})
    assert set(enforced) == {"Content-Security-Policy"}
    assert "report-uri" not in enforced["Content-Security-Policy"]

    reported = policy_headers(
        env={"PORTAL_VAR_DIR": str(tmp_path), "CSP_REPORT_ONLY": "true", "CSP_REPORT_URI": "/csp-reports/"}
    )
    assert set(reported) == {"Content-Security-Policy-Report-Only"}
    policy = reported["Content-Security-Policy-Report-Only"]
    assert "script-src 'self'" in policy and policy.endswith("report-uri /csp-reports/")


def test_a_report_uri_that_is_neither_a_path_nor_a_web_address_is_refused_at_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings", "CSP_REPORT_URI": "csp-reports"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "CSP_REPORT_URI" in result.stderr


def test_requirements_are_pinned_and_the_runtime_carries_no_test_or_lint_tools():
    runtime = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    for line in runtime + dev:
        if line and not line.startswith(("#", "-r ")):
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][\w.\-]*", line), line
    names = {line.split("==")[0].lower() for line in runtime if "==" in line}
    assert not names & {"pytest", "pytest-django", "playwright", "ruff", "import-linter"}
    assert "-r requirements.txt" in dev


@pytest.mark.django_db
def test_the_embedded_sqlite_database_writes_ahead_so_readers_never_wait_for_ingest():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


@pytest.mark.django_db
def test_postgresql_compresses_the_large_columns_with_lz4():
    """Migration 0010: an article's large values go to TOAST as LZ4 (pglz cost the database
    three times the CPU on every ingest insert)."""
    from django.db import connection

    from articles.tests.factories import article_make

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
        )
        if cursor.fetchone() is None:
            pytest.skip("this PostgreSQL is built without LZ4")
        # a body long and repetitive enough to be compressed
        body = "".join(f"第{n}条 数据处理者应当履行个人信息保护义务。\n\n" for n in range(400))
        article = article_make(title="压缩测试", body=body)
        cursor.execute(
            "SELECT pg_column_compression(body_markdown), pg_column_compression(raw_text)"
            " FROM articles_article WHERE id = %s",
            [article.pk],
        )
        assert cursor.fetchone() == ("lz4", "lz4")
        cursor.execute(
            "SELECT attname, attcompression FROM pg_attribute"
            " WHERE attrelid IN ('articles_article'::regclass, 'articles_ingestitem'::regclass)"
            " AND attname IN ('raw_text', 'body_markdown', 'body_text', 'body_terms', 'raw')"
        )
        assert {name: method for name, method in cursor.fetchall()} == dict.fromkeys(
            ["raw_text", "body_markdown", "body_text", "body_terms", "raw"], "l"
        )


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit_compilation():
    """The settings turn JIT off for every connection: a repost lookup estimated expensive
    while its table grew during an ingest was compiled every time (100 ms for 10 ms of work)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
