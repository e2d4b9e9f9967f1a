"""With DEBUG off, errors are the site's own zh-CN pages, not Django's bare English ones."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory, override_settings
from django.views import defaults

pytestmark = pytest.mark.django_db

ENGLISH = ("Not Found", "Server Error", "Bad Request", "Forbidden", "The requested resource")


def assert_site_page(html: str, *, heading: str) -> None:
    assert '<html lang="zh-CN">' in html
    assert heading in html
    assert 'class="site-header"' in html and "返回首页" in html
    for words in ENGLISH:
        assert words not in html, words


@override_settings(DEBUG=False)
def test_an_unknown_address_gets_the_chinese_404_page(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert_site_page(response.content.decode(), heading="找不到这个页面")


@override_settings(DEBUG=False)
def test_a_missing_article_gets_the_chinese_404_page(client: Client) -> None:
    response = client.get("/articles/99999999/")
    assert response.status_code == 404
    assert_site_page(response.content.decode(), heading="找不到这个页面")


@override_settings(DEBUG=False)
def test_server_errors_bad_requests_and_refusals_have_chinese_pages() -> None:
    request = RequestFactory().get("/")
    for response, heading in (
        (defaults.server_error(request), "服务器出了点问题"),
        (defaults.bad_request(request, exception=ValueError()), "请求有误，无法处理"),
        (defaults.permission_denied(request, exception=PermissionDenied()), "没有权限访问这个页面"),
    ):
        assert response.status_code in (400, 403, 500)
        assert_site_page(response.content.decode(), heading=heading)


@override_settings(DEBUG=False)
def test_a_form_posted_without_its_token_gets_the_chinese_403_page() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert_site_page(response.content.decode(), heading="表单已过期，请刷新后重试")


def test_every_page_names_an_icon_and_favicon_ico_leads_to_it(client: Client) -> None:
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg"' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
