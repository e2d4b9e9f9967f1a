"""Every page works under the site's Content-Security-Policy, in a real browser.

The ``page`` and ``phone_page`` fixtures already fail a test on any violation the browser
reports (see ``csp_violations_collect``); these tests make sure each kind of page is
visited under the policy at least once: the public pages at both sizes, the API docs with
no CDN in reach, and the admin pages editors use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import PortalData
from .helpers import SEARCH_TERM, article_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAFF_USERNAME = "editor"
STAFF_PASSWORD = "csp-editor-password-1"
UPLOAD_MARKDOWN = """---
title: 上传测试稿：数据出境安全评估
url: https://upload.example.cn/articles/1
source: 上传测试来源
date: 2024-07-01
---

国家网信办发布数据出境安全评估申报指南，明确申报材料和流程，要求数据处理者依法开展自评估。
"""

STYLESHEETS_APPLIED = """() => document.styleSheets.length >= 2
    && Array.from(document.styleSheets).every(sheet => sheet.cssRules.length > 0)"""


def public_paths(*, data: PortalData) -> list[str]:
    """One of each public page, with the data that makes it show all its blocks."""
    from articles.models import Article, PolicyDocument

    published = Article.objects.filter(status=Article.Status.PUBLISHED)
    with_policy = published.filter(policy_mentions__isnull=False).order_by("-published_on", "pk").first()
    with_author = published.filter(authors__isnull=False).order_by("-published_on", "pk").first()
    assert with_policy is not None and with_author is not None
    document = PolicyDocument.objects.filter(mentions__isnull=False).order_by("pk").first()
    assert document is not None
    month = with_policy.published_on
    return [
        "/",
        f"/search/?q={SEARCH_TERM}",
        f"/search/?q={SEARCH_TERM}&sort=newest&in=title",
        article_path(pk=with_policy.pk),
        article_path(pk=data.hostile_pk),
        f"/sources/{with_policy.source_id}/",
        f"/authors/{with_author.authors.order_by('pk').first().pk}/",
        f"/archive/{month.year}/{month.month}/",
        "/policy/",
        f"/policy/{document.pk}/",
    ]


def visit(page, *, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.ok, f"{url} answered {response and response.status}"
    assert "default-src 'self'" in response.headers.get("content-security-policy", ""), (
        f"{url} was served without the policy"
    )
    page.wait_for_load_state("load")


def staff_login(page, *, base_url: str) -> None:
    """Sign in through the admin's own login page, which is itself under the policy."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser(STAFF_USERNAME, "editor@example.cn", STAFF_PASSWORD)
    visit(page, url=f"{base_url}/admin/login/")
    page.locator("#id_username").fill(STAFF_USERNAME)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.locator("input[type=submit]").click()
    assert page.locator("#user-tools").count() == 1, "the staff login did not succeed"


def test_the_guard_reports_an_inline_script_the_policy_blocks(page, base_url):
    # The collector itself is under test: a silent one would let every other test here pass.
    visit(page, url=f"{base_url}/")
    page.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'window.__inlineRan = true';
            document.body.append(script);
        }"""
    )
    # The report reaches Python asynchronously; waiting lets Playwright deliver it.
    for _ in range(50):
        if any("script-src" in violation for violation in page.guard.csp_violations):
            break
        page.wait_for_timeout(100)

    assert page.evaluate("() => window.__inlineRan") is None
    assert any("script-src" in violation for violation in page.guard.csp_violations), (
        page.guard.csp_violations
    )
    page.guard.csp_violations.clear()


@pytest.mark.parametrize("tab", ["page", "phone_page"])
def test_every_public_page_loads_without_a_policy_violation(request, tab, base_url, portal_data):
    page = request.getfixturevalue(tab)
    for path in public_paths(data=portal_data):
        visit(page, url=f"{base_url}{path}")
        assert page.evaluate(STYLESHEETS_APPLIED), f"{path}: a stylesheet did not load"
        # The page's scripts ran: the suggestion script turns each marked box into a combobox.
        boxes = page.locator("input[data-suggest]")
        assert boxes.count() == page.locator("input[data-suggest][role=combobox]").count(), path


def test_the_api_docs_render_their_operations_without_any_cdn(page, base_url, artifacts_dir: Path):
    # The tab can reach only the live server (see page_open); this records any attempt.
    outside: list[str] = []

    def on_request(request) -> None:
        if not request.url.startswith((base_url, "data:", "blob:")):
            outside.append(request.url)

    page.on("request", on_request)
    visit(page, url=f"{base_url}/api/docs")

    page.locator(".opblock-summary-path", has_text="/api/search").first.wait_for(state="visible")
    assert page.get_by_text("政策新闻检索门户 API").first.is_visible()
    # Expanding an operation renders its parameters and "Try it out" (more React, more DOM).
    page.locator(".opblock-summary", has_text="/api/search").first.click()
    page.get_by_role("button", name="Try it out").first.wait_for(state="visible")
    page.screenshot(path=str(artifacts_dir / "api-docs-desktop.png"), full_page=True)
    assert not outside, f"the docs page reached outside the site: {outside}"


def test_the_api_docs_can_run_a_request_against_the_api(page, base_url):
    visit(page, url=f"{base_url}/api/docs")
    operation = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/api/search"))
    operation.locator(".opblock-summary").first.click()
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("input[placeholder='q']").fill(SEARCH_TERM)
    operation.get_by_role("button", name="Execute").click()

    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(state="visible")
    assert status.inner_text().strip() == "200"


def test_admin_pages_editors_use_load_without_a_policy_violation(page, base_url, artifacts_dir: Path):
    from articles.models import Article, PolicyDocument, Story

    staff_login(page, base_url=base_url)
    article = Article.objects.filter(authors__isnull=False).order_by("pk").first()
    document = PolicyDocument.objects.order_by("pk").first()
    story = Story.objects.order_by("pk").first()
    paths = [
        "/admin/",
        "/admin/articles/article/",
        f"/admin/articles/article/?q={SEARCH_TERM}&status__exact=published",
        f"/admin/articles/article/{article.pk}/change/",
        f"/admin/articles/article/{article.pk}/history/",
        f"/admin/articles/article/{article.pk}/delete/",
        "/admin/articles/article/add/",
        "/admin/articles/source/",
        "/admin/articles/policydocument/",
        f"/admin/articles/policydocument/{document.pk}/change/",
        "/admin/articles/ingestrun/",
        "/admin/articles/ingestitem/",
        "/admin/auth/user/",
        "/admin/password_change/",
    ]
    if story is not None:
        paths.append(f"/admin/articles/story/{story.pk}/change/")
    for path in paths:
        visit(page, url=f"{base_url}{path}")

    # The change form's widgets build their controls with script: the autocomplete boxes
    # (select2: source, authors, tags), the date shortcuts.
    visit(page, url=f"{base_url}/admin/articles/article/{article.pk}/change/")
    page.locator(".field-tags .select2-selection").first.wait_for(state="visible")
    page.locator(".select2-selection").first.click()
    page.locator(".select2-results__option").first.wait_for(state="visible")
    page.keyboard.press("Escape")
    page.locator(".datetimeshortcuts a").first.wait_for(state="visible")
    page.screenshot(path=str(artifacts_dir / "admin-article-change.png"), full_page=True)

    # Adding a source from the article form: a popup whose answer page hands the new row
    # back to the form by script (popup_response.js).
    with page.expect_popup() as popup_info:
        page.locator("#add_id_source").click()
    popup = popup_info.value
    popup.wait_for_load_state("load")
    popup.locator("#id_name").fill("弹窗新增来源")
    with popup.expect_event("close"):
        popup.locator("input[name=_save]").click()
    assert page.locator("#id_source option:checked").inner_text() == "弹窗新增来源"

    # The changelist's action bar is wired up by script (select all, action counter).
    visit(page, url=f"{base_url}/admin/articles/article/")
    counter = page.locator(".action-counter")
    before = counter.inner_text()
    page.locator("#action-toggle").check()
    assert counter.inner_text() != before


def test_an_upload_through_the_admin_shows_its_progress_under_the_policy(page, base_url, artifacts_dir: Path):
    staff_login(page, base_url=base_url)
    visit(page, url=f"{base_url}/admin/articles/ingestrun/")
    with page.expect_navigation():
        page.get_by_role("link", name="上传文章").click()
    page.screenshot(path=str(artifacts_dir / "admin-ingest-upload.png"), full_page=True)

    page.locator("input[type=file]").set_input_files(
        files=[{"name": "upload-1.md", "mimeType": "text/markdown", "buffer": UPLOAD_MARKDOWN.encode()}]
    )
    with page.expect_navigation():
        page.locator("input[type=submit]").click()

    assert "/admin/articles/ingestrun/" in page.url and page.url.rstrip("/").endswith("change")
    # Without a broker the page itself asks for the run to be worked off, step by step (POSTs
    # with the CSRF token), then reloads once: all of it same-origin script under the policy.
    progress = page.locator("#ingest-progress-text")
    page.wait_for_function(
        "() => performance.getEntriesByType('navigation')[0].type === 'reload'"
        " && document.getElementById('ingest-progress-text')?.textContent.includes('已处理 1/1')",
        timeout=30_000,
    )
    assert "新建 1" in progress.inner_text()
    page.screenshot(path=str(artifacts_dir / "admin-ingest-run.png"), full_page=True)
