"""Fixtures for the browser suite: a live server, Debian's Chromium through Playwright, demo data.

Every test gets fresh data (the live server needs a transactional database, which is
flushed after each test): the demo corpus plus one hostile article, both through the
real ingest command so they are cleaned and indexed exactly as in production.
"""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from haystack import connections

from .helpers import csp_violations_collect

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# the ORM calls the fixtures make while it runs.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_PATH = Path(os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_DIR = Path(__file__).resolve().parents[3]
DEMO_CORPUS_DIR = REPO_DIR / "demo" / "corpus"
DESKTOP_VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}
# Long enough for a cold Whoosh query on a slow CI box, short enough to fail fast.
ACTION_TIMEOUT_MS = 10_000

HOSTILE_TITLE = "恶意脚本测试稿：数据安全通报"
HOSTILE_URL = "https://hostile.example.cn/articles/evil-1"
HOSTILE_MARKDOWN = f"""---
title: {HOSTILE_TITLE}
url: {HOSTILE_URL}
source: 恶意测试来源
date: 2024-06-20
fetch_date: 2024-06-21T08:00:00
---

# {HOSTILE_TITLE}

本文用于检验页面是否会执行正文中夹带的脚本，数据安全管理工作要求各单位加强防护。

<script>window.__pwned = 1; alert("pwned-script");</script>

<img src="x" onerror="window.__pwned = 2; alert('pwned-img')">

<p style="position:fixed;top:0;left:0;width:100%;height:100%;background:red" onclick="window.__pwned = 4">
点击这里查看数据安全检查结果。</p>

[点击领取数据安全手册](javascript:window.__pwned=3)

<a href="javascript:window.__pwned=5">另一个可疑链接</a>

<a href="data:text/html,<script>alert(1)</script>">数据链接</a>

<iframe src="javascript:window.__pwned=6"></iframe>

<svg onload="window.__pwned=7"><circle r="10"></circle></svg>

<form action="javascript:window.__pwned=8"><button>提交表单</button></form>

各地网信部门将持续开展数据安全专项检查，督促企业落实主体责任。
"""


@dataclass
class PortalData:
    """What the data fixture put in the database, for tests to navigate to."""

    hostile_pk: int
    article_count: int
    ingest_errors: list[str] = field(default_factory=list)


@dataclass
class PageGuard:
    """Dialogs, uncaught script errors and CSP violations seen by one tab; any of them fails the test."""

    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("PORTAL_TEST_ARTIFACTS", REPO_DIR / "test-artifacts" / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM_PATH.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM_PATH} (install Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM_PATH),
            args=CHROMIUM_ARGS,
        )
        yield chromium
        chromium.close()


def page_open(*, browser, viewport: dict[str, int]) -> tuple[object, object, PageGuard]:
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    # Only the live server is reachable: external images (WeChat covers) would make page
    # loads depend on the network and on another site's hot-link rules.
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(("http://localhost", "http://127.0.0.1"))
            else route.abort()
        ),
    )
    guard = PageGuard()
    # Before the first page opens, so the listener is in every document the tab loads.
    csp_violations_collect(context=context, violations=guard.csp_violations)
    page = context.new_page()

    def on_dialog(dialog) -> None:
        guard.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: guard.page_errors.append(str(error)))
    return context, page, guard


def page_guard_check(guard: PageGuard) -> None:
    assert not guard.dialogs, f"a page opened a dialog (script ran): {guard.dialogs}"
    assert not guard.page_errors, f"uncaught script errors on the page: {guard.page_errors}"
    assert not guard.csp_violations, f"the Content-Security-Policy blocked something: {guard.csp_violations}"


@pytest.fixture
def page_guard() -> PageGuard:
    return PageGuard()


@pytest.fixture
def page(browser, live_server, portal_data: PortalData) -> Iterator:
    """A desktop-sized tab; fails the test if any page opened a dialog or threw."""
    context, tab, guard = page_open(browser=browser, viewport=DESKTOP_VIEWPORT)
    tab.guard = guard
    yield tab
    context.close()
    page_guard_check(guard)


@pytest.fixture
def phone_page(browser, live_server, portal_data: PortalData) -> Iterator:
    """A phone-sized tab (390 × 844), with the same guard as ``page``."""
    context, tab, guard = page_open(browser=browser, viewport=PHONE_VIEWPORT)
    tab.guard = guard
    yield tab
    context.close()
    page_guard_check(guard)


@pytest.fixture
def base_url(live_server) -> str:
    return live_server.url.rstrip("/")


def index_clear() -> None:
    connections["default"].get_backend().clear()


def corpus_ingest(*, paths: list[Path]) -> list[str]:
    """Run the real ingest command; broken demo files fail on purpose, so errors are collected."""
    errors: list[str] = []
    try:
        call_command(
            "ingest",
            *[str(path) for path in paths],
            "--sync",
            "--no-progress",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    except CommandError as exc:
        errors.append(str(exc))
    return errors


@pytest.fixture
def hostile_corpus_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "20240620999.md").write_text(HOSTILE_MARKDOWN, encoding="utf-8")
    return folder


@dataclass
class DataSnapshot:
    """The database and index right after the first ingest of the session."""

    fixture: Path
    index_dir: Path
    data: PortalData


# Models the flush after each transactional test recreates itself (post_migrate) or that
# only the admin shows (ingest runs keep every file's raw bytes: most of the dump's size);
# everything else is restored from the snapshot.
SNAPSHOT_EXCLUDE = [
    "contenttypes",
    "auth.permission",
    "admin.logentry",
    "sessions",
    "articles.ingestitem",
    "articles.ingestrun",
]


def index_dir() -> Path:
    return Path(settings.HAYSTACK_CONNECTIONS["default"]["PATH"])


def data_snapshot_take(*, folder: Path, data: PortalData) -> DataSnapshot:
    fixture = folder / "portal.json"
    call_command(
        "dumpdata",
        natural_foreign=True,
        exclude=SNAPSHOT_EXCLUDE,
        output=str(fixture),
        stdout=StringIO(),
    )
    saved_index = folder / "index"
    shutil.copytree(index_dir(), saved_index)
    return DataSnapshot(fixture=fixture, index_dir=saved_index, data=data)


def data_snapshot_restore(*, snapshot: DataSnapshot) -> None:
    """Load the rows with their original ids and put the matching index files back.

    The signal processor is off while loading: the index already holds these rows, and
    reindexing them on every test would cost as much as the ingest this replaces.
    """
    from django.apps import apps

    signal_processor = apps.get_app_config("haystack").signal_processor
    index_clear()
    shutil.copytree(snapshot.index_dir, index_dir(), dirs_exist_ok=True)
    connections["default"].get_backend().setup_complete = False
    signal_processor.teardown()
    try:
        # The flush re-seeded the policy library (post_migrate) under new ids: the dump has
        # the seeded records with their names and ids as the ingest left them.
        from articles.models import PolicyDocument

        PolicyDocument.objects.all().delete()
        call_command("loaddata", str(snapshot.fixture), stdout=StringIO())
    finally:
        signal_processor.setup()


def migration_seeds_restore() -> None:
    """Re-create the rows the data migrations seed (synonyms, trend topics).

    A transactional test ends with a flush that empties every table, seeds included; the
    portal as deployed always has them.
    """
    for module, function in (
        ("search.migrations.0002_seed_synonyms", "seed_synonyms"),
        ("search.migrations.0004_seed_trend_topics", "seed_topics"),
        ("search.migrations.0005_seed_more_synonyms", "seed_more"),
    ):
        getattr(importlib.import_module(module), function)(_seeding_apps(), None)


@functools.cache
def _seeding_apps():
    # The seeds run against the models as they were when the seeds were written (the models
    # have since moved to zhtext and pages, their tables have not): the historical state.
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(connection).project_state(("search", "0006_indexchange")).apps


@pytest.fixture(scope="session")
def data_snapshots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, DataSnapshot]:
    return {}


@pytest.fixture
def portal_data(
    transactional_db: None,
    hostile_corpus_dir: Path,
    data_snapshots: dict[str, DataSnapshot],
    tmp_path_factory: pytest.TempPathFactory,
) -> PortalData:
    """The demo corpus and the hostile article, ingested once per session and restored per test.

    Ingesting takes several seconds (cleaning, segmenting, keywords, reposts, indexing);
    restoring the dump of its result takes a fraction of that, and the database is flushed
    after every test because the live server needs committed rows.
    """
    from articles.models import Article

    snapshot = data_snapshots.get("demo")
    if snapshot is not None:
        data_snapshot_restore(snapshot=snapshot)
        return snapshot.data
    index_clear()
    migration_seeds_restore()
    errors = corpus_ingest(paths=[DEMO_CORPUS_DIR, hostile_corpus_dir])
    # as `make demo` does: the demo's tags, so the tag facet shows
    call_command("tags_apply", str(DEMO_CORPUS_DIR.parent / "tags.json"), stdout=StringIO())
    # Editors' picks, so the home page shows its featured block as it does in use.
    featured = Article.objects.filter(status=Article.Status.PUBLISHED).exclude(url=HOSTILE_URL)
    Article.objects.filter(
        pk__in=list(featured.order_by("-published_on").values_list("pk", flat=True)[:2])
    ).update(featured=True)
    hostile = Article.objects.filter(url=HOSTILE_URL).first()
    assert hostile is not None, f"the hostile article was not ingested: {errors}"
    data = PortalData(
        hostile_pk=hostile.pk,
        article_count=Article.objects.filter(status=Article.Status.PUBLISHED).count(),
        ingest_errors=errors,
    )
    data_snapshots["demo"] = data_snapshot_take(folder=tmp_path_factory.mktemp("snapshot"), data=data)
    return data


def cjk_font_families() -> list[str]:
    """Font families fontconfig offers for Chinese; empty when none (or no fontconfig)."""
    if shutil.which("fc-list") is None:
        return []
    result = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30, check=False
    )
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]
