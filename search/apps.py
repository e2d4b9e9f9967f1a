from __future__ import annotations

from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = "检索"
    default_auto_field = "django.db.models.BigAutoField"
