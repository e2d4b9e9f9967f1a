"""A story republished by several accounts links its copies to each other."""

from __future__ import annotations

import pytest

from .helpers import article_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_article_in_a_repost_cluster_links_to_its_other_copies(page, base_url):
    from django.db.models import Count

    from articles.models import Article, Story

    story = (
        Story.objects.annotate(size=Count("articles"))
        .filter(size__gt=1, articles__status=Article.Status.PUBLISHED)
        .order_by("-size", "pk")
        .first()
    )
    assert story is not None, "the demo corpus has reposts, but no story groups them"
    first, *others = story.articles.filter(status=Article.Status.PUBLISHED).order_by("pk")
    page.goto(f"{base_url}{article_path(pk=first.pk)}")

    block = page.locator(".article-reposts")
    assert block.is_visible()
    linked = set(block.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))"))
    assert {article_path(pk=other.pk) for other in others} <= linked
    assert article_path(pk=first.pk) not in linked


def test_search_shows_one_entry_per_story_whose_sources_expand(page, base_url):
    from django.db.models import Count

    from articles.models import Article, Story

    story = (
        Story.objects.annotate(size=Count("articles"))
        .filter(size__gt=1, articles__status=Article.Status.PUBLISHED)
        .order_by("-size", "pk")
        .first()
    )
    assert story is not None, "the demo corpus has reposts, but no story groups them"
    copies = list(story.articles.filter(status=Article.Status.PUBLISHED))
    page.goto(f"{base_url}/search/?q={copies[0].title}&in=title")

    entries = page.locator(".results .result").filter(has=page.locator(".result__reposts"))
    assert entries.count() == 1, "the copies of one story should be a single result"
    reposts = entries.first.locator(".result__reposts")
    summary = reposts.locator("summary")
    assert summary.inner_text().strip() == f"{len(copies)} 个来源"
    others = reposts.locator("ul a")
    assert not others.first.is_visible()
    summary.click()
    assert others.first.is_visible()
    assert others.count() == len(copies) - 1
