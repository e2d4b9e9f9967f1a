"""Responses carry the site's Content-Security-Policy; only /api/docs widens it, and only for images.

The browser suite checks that pages work under the policy; these check the header itself.
"""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

HEADER = "Content-Security-Policy"
SITE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "https:", "http:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def policy_parse(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


PATHS = ["/", "/policy/", "/admin/login/", "/api/suggest?q=数据安全", "/no-such-page/"]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_site_policy(client: Client, path: str) -> None:
    response = client.get(path)
    assert HEADER in response, f"{path} ({response.status_code}) has no {HEADER} header"
    assert policy_parse(response[HEADER]) == SITE_POLICY


def test_no_page_may_run_inline_script_or_style(client: Client) -> None:
    header = client.get("/")[HEADER]
    assert "'unsafe-inline'" not in header
    assert "'unsafe-eval'" not in header


def test_the_api_docs_add_data_images_and_nothing_else(client: Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    expected = {**SITE_POLICY, "img-src": [*SITE_POLICY["img-src"], "data:"]}
    assert policy_parse(response[HEADER]) == expected


def test_the_api_docs_load_swagger_ui_from_the_sites_own_static_files(client: Client) -> None:
    html = client.get("/api/docs").content.decode()
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    # Stylesheet and favicons.
    links = re.findall(r'<link[^>]*\bhref="([^"]+)"', html)
    assets = scripts + links

    assert "/static/ninja/swagger-ui-bundle.js" in scripts
    assert "/static/ninja/swagger-ui.css" in links
    assert all(url.startswith("/static/") for url in assets), assets
    assert "cdn." not in html and "jsdelivr" not in html
    for url in assets:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not among the static files"


def test_the_api_docs_ask_no_outside_validator_about_the_schema(client: Client) -> None:
    html = client.get("/api/docs").content.decode()
    settings_json = re.search(r'id="swagger-settings">(.*?)</script>', html, re.S)
    assert settings_json is not None
    assert json.loads(settings_json.group(1))["validatorUrl"] is None
