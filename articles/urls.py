from __future__ import annotations

from django.urls import path

from . import browse, views

urlpatterns = [
    path("sources/<int:pk>/", browse.source_detail, name="source-detail"),
    path("authors/<int:pk>/", browse.author_detail, name="author-detail"),
    path("archive/<int:year>/<int:month>/", browse.archive_month, name="archive-month"),
    path("policy/", views.policy_list, name="policy-list"),
    path("policy/<int:pk>/", views.policy_detail, name="policy-detail"),
]
