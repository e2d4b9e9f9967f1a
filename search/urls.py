from __future__ import annotations

from django.urls import path

from . import views
from .api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("articles/<int:pk>/", views.article_detail, name="article-detail"),
    path("api/", api.urls),
]
