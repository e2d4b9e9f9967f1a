from __future__ import annotations

from django.apps import AppConfig


class ZhtextConfig(AppConfig):
    name = "zhtext"
    verbose_name = "中文分析"
    default_auto_field = "django.db.models.BigAutoField"
