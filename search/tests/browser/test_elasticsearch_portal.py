"""The whole portal on ``SEARCH_BACKEND=elasticsearch``, in Chromium, against the real node.

The demo corpus is ingested through the real command into an index of its own; then a
reader goes home → search → facet → article, a client reads the API and a feed, and an
editor renames an article in the admin and finds it by its new title.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from haystack import connections

from articles.models import Article
from search.tests.engine_contract.test_elasticsearch import default_on_elasticsearch

from .conftest import DEMO_CORPUS_DIR, DESKTOP_VIEWPORT, corpus_ingest, migration_seeds_restore, page_open
from .conftest import page_guard_check as guard_check
from .helpers import SEARCH_TERM, result_count, result_titles, search_submit
from .test_content_security_policy import staff_login, visit

pytestmark = [pytest.mark.browser, pytest.mark.elasticsearch, pytest.mark.django_db(transaction=True)]

RENAMED = "鲲鹏测绘数据出境评估试点通报"


@pytest.fixture
def on_elasticsearch(settings, transactional_db) -> Iterator[str]:
    """This process (the live server's thread included) searches a fresh Elasticsearch index."""
    with default_on_elasticsearch(settings=settings) as name:
        yield name


@pytest.fixture
def es_page(browser, live_server, on_elasticsearch) -> Iterator:
    migration_seeds_restore()
    errors = corpus_ingest(paths=[DEMO_CORPUS_DIR])
    assert Article.objects.filter(status=Article.Status.PUBLISHED).count() > 10, errors
    context, tab, guard = page_open(browser=browser, viewport=DESKTOP_VIEWPORT)
    yield tab
    context.close()
    guard_check(guard)


def test_the_whole_portal_works_on_elasticsearch(es_page, live_server, on_elasticsearch, artifacts_dir: Path):
    page = es_page
    base_url = live_server.url.rstrip("/")
    backend = connections["default"].get_backend()
    assert backend.index_name == on_elasticsearch
    published = set(Article.objects.filter(status=Article.Status.PUBLISHED).values_list("pk", flat=True))
    assert set(backend.indexed_documents()) == published  # the ingest indexed into Elasticsearch

    # Home: the latest articles and the charts (which count through the engine).
    visit(page, url=f"{base_url}/")
    assert page.locator("a[href^='/articles/']").count() > 5
    page.screenshot(path=str(artifacts_dir / "elasticsearch-home.png"), full_page=True)

    # Search, highlight, narrow by a facet.
    search_submit(page, base_url=base_url, term=SEARCH_TERM)
    total = result_count(page)
    assert total > 1
    assert page.locator(".results mark").count() > 0
    page.screenshot(path=str(artifacts_dir / "elasticsearch-search.png"), full_page=True)
    facet = page.locator("section.facet", has=page.get_by_role("heading", name="来源", exact=True))
    links = facet.locator("a.facet__link")
    chosen = next(
        (
            links.nth(i)
            for i in range(links.count())
            if int(links.nth(i).locator(".facet__count").inner_text()) < total
        ),
        None,
    )
    assert chosen is not None, "every source holds every hit"
    facet_count = int(chosen.locator(".facet__count").inner_text())
    source_name = chosen.locator(".facet__value").inner_text().strip()
    with page.expect_navigation():
        chosen.click()
    assert parse_qs(urlsplit(page.url).query)["source"] == [source_name]
    assert result_count(page) == facet_count
    assert {s.strip() for s in page.locator(".results .meta__source").all_inner_texts()} == {source_name}

    # An article page from the results.
    first_title = result_titles(page)[0]
    with page.expect_navigation():
        page.locator(".results .result__title a").first.click()
    assert "/articles/" in page.url
    assert first_title in page.locator("h1").inner_text()
    page.screenshot(path=str(artifacts_dir / "elasticsearch-article.png"), full_page=True)

    # The API and the search feed answer from the same engine, with the page's count.
    api = page.request.get(f"{base_url}/api/search?q={quote(SEARCH_TERM)}")
    assert api.status == 200
    assert api.json()["count"] == total
    feed = page.request.get(f"{base_url}/feeds/search.rss?q={quote(SEARCH_TERM)}")
    assert feed.status == 200
    assert feed.text().count("<item>") >= 1

    # An editor renames an article in the admin; the search finds it by its new name.
    article = Article.objects.filter(status=Article.Status.PUBLISHED).order_by("pk").first()
    staff_login(page, base_url=base_url)
    visit(page, url=f"{base_url}/admin/articles/article/{article.pk}/change/")
    page.locator("#id_title").fill(RENAMED)
    with page.expect_navigation():
        page.locator("input[name=_save]").click()
    assert page.locator(".messagelist .success").count() == 1
    search_submit(page, base_url=base_url, term=RENAMED)
    assert result_titles(page)[0] == RENAMED
    page.screenshot(path=str(artifacts_dir / "elasticsearch-after-edit.png"), full_page=True)
