from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # browsers ask for /favicon.ico whatever the page says
    path("favicon.ico", views.favicon, name="favicon"),
    path("articles/<int:pk>/", views.article_detail, name="article-detail"),
    path("sources/", views.source_list, name="source-list"),
    path("sources/<int:pk>/", views.source_detail, name="source-detail"),
    path("authors/<int:pk>/", views.author_detail, name="author-detail"),
    path("archive/<int:year>/<int:month>/", views.archive_month, name="archive-month"),
    path("policy/", views.policy_list, name="policy-list"),
    path("policy/<int:pk>/", views.policy_detail, name="policy-detail"),
]
