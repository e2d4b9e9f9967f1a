from __future__ import annotations

from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "pages"
    verbose_name = "站点页面"
    default_auto_field = "django.db.models.BigAutoField"
