from __future__ import annotations

from django.contrib import admin

from .models import DictionaryState, DictionaryTerm, Synonym


@admin.register(DictionaryTerm)
class DictionaryTermAdmin(admin.ModelAdmin):
    list_display = ("word", "freq", "note", "updated_at")
    search_fields = ("word", "note")
    ordering = ("word",)


@admin.register(Synonym)
class SynonymAdmin(admin.ModelAdmin):
    list_display = ("terms", "active", "note", "updated_at")
    list_filter = ("active",)
    search_fields = ("terms", "note")


@admin.register(DictionaryState)
class DictionaryStateAdmin(admin.ModelAdmin):
    list_display = ("version", "updated_at")
    readonly_fields = ("version", "updated_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
