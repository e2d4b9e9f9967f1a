"""From an article page, keywords lead to searches and mentioned policy documents to their pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from .helpers import article_path, result_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def article_with_policy_mention():
    from articles.models import Article

    article = (
        Article.objects.filter(status=Article.Status.PUBLISHED, policy_mentions__isnull=False)
        .order_by("-published_on", "pk")
        .first()
    )
    assert article is not None, "no demo article mentions a policy document"
    return article


def test_a_keyword_on_an_article_page_opens_a_search_for_it(page, base_url):
    article = article_with_policy_mention()
    page.goto(f"{base_url}{article_path(pk=article.pk)}")

    keywords = page.locator(".article-keywords a")
    assert keywords.count() >= 3
    link = keywords.first
    word = link.inner_text().strip()
    with page.expect_navigation():
        link.click()

    assert urlsplit(page.url).path == "/search/"
    assert parse_qs(urlsplit(page.url).query)["q"] == [word]
    assert page.locator("#search-q").input_value() == word
    assert result_count(page) >= 1
    # The article the keyword came from is among the hits for its own keyword.
    assert page.locator(f'.results a[href="{article_path(pk=article.pk)}"]').count() >= 1


def test_a_mentioned_policy_document_links_to_its_page_listing_the_article(page, base_url):
    article = article_with_policy_mention()
    page.goto(f"{base_url}{article_path(pk=article.pk)}")

    documents = page.locator(".article-policies a")
    assert documents.count() >= 1
    link = documents.first
    name = link.inner_text().strip().strip("《》")
    with page.expect_navigation():
        link.click()

    assert urlsplit(page.url).path.startswith("/policy/")
    assert name in page.locator("h1").first.inner_text()
    back = page.locator(f'main a[href="{article_path(pk=article.pk)}"]')
    assert back.count() >= 1, "the policy page does not list the article that mentions it"
    with page.expect_navigation():
        back.first.click()
    assert urlsplit(page.url).path == article_path(pk=article.pk)
