from __future__ import annotations

from django.contrib import admin

from .models import TrendTopic


@admin.register(TrendTopic)
class TrendTopicAdmin(admin.ModelAdmin):
    list_display = ("name", "query", "position", "active", "updated_at")
    list_editable = ("position", "active")
    list_filter = ("active",)
    search_fields = ("name", "query")
