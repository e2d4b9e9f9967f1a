"""A search can be subscribed to: the page links a feed of the same query, and the feed is valid."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest

from .helpers import SEARCH_TERM, result_titles

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_search_page_offers_an_rss_subscription_for_the_current_query(page, base_url):
    page.goto(f"{base_url}/search/?q={SEARCH_TERM}&sort=newest")

    subscribe = page.get_by_role("link", name="订阅", exact=True)
    assert subscribe.is_visible()
    href = subscribe.get_attribute("href")
    parts = urlsplit(href)
    assert parts.path.endswith(".rss")
    assert parse_qs(parts.query)["q"] == [SEARCH_TERM]
    alternates = page.locator('head link[rel="alternate"][type="application/rss+xml"]')
    assert alternates.count() == 1

    response = page.request.get(f"{base_url}{href}" if href.startswith("/") else href)
    assert response.ok
    assert "xml" in response.headers["content-type"]
    channel = ET.fromstring(response.body()).find("channel")
    assert channel is not None
    feed_titles = [item.findtext("title") for item in channel.findall("item")]
    # Same query, same order: the feed starts with the newest hit the page shows first.
    assert feed_titles
    assert feed_titles[0] == result_titles(page)[0]
