from __future__ import annotations

from django.apps import AppConfig


class ArticlesConfig(AppConfig):
    name = "articles"
    verbose_name = "文章与导入"
    default_auto_field = "django.db.models.BigAutoField"
