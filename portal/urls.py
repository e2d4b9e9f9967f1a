from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "政策新闻检索门户 · 管理"
admin.site.site_title = "政策新闻检索门户"
admin.site.index_title = "内容管理"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("pages.urls")),
    path("", include("search.urls")),
]
