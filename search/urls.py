from __future__ import annotations

from django.urls import path

from . import feeds, views
from .api import api

urlpatterns = [
    path("search/", views.search, name="search"),
    path("api/", api.urls),
    path("feeds/search.rss", feeds.SearchRssFeed(), name="feed-search-rss"),
    path("feeds/search.atom", feeds.SearchAtomFeed(), name="feed-search-atom"),
    path("feeds/sources/<int:pk>.rss", feeds.SourceRssFeed(), name="feed-source-rss"),
    path("feeds/sources/<int:pk>.atom", feeds.SourceAtomFeed(), name="feed-source-atom"),
    path("feeds/policy/<int:pk>.rss", feeds.PolicyRssFeed(), name="feed-policy-rss"),
    path("feeds/policy/<int:pk>.atom", feeds.PolicyAtomFeed(), name="feed-policy-atom"),
]
