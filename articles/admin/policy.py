"""Policy documents: names, aliases, merges."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from .. import policy
from ..models import PolicyDocument, PolicyMention


class PolicyAliasesField(forms.CharField):
    """Aliases edited one per line; each is normalised like an extracted name so it can match."""

    widget = forms.Textarea(attrs={"rows": 4, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        aliases: list[str] = []
        for line in (value or "").splitlines():
            alias = policy.policy_name_normalise(value=line)
            if alias and alias not in aliases:
                aliases.append(alias)
        return aliases


class PolicyDocumentForm(forms.ModelForm):
    aliases = PolicyAliasesField(
        label="别名",
        required=False,
        help_text="每行一个其他写法（如简称、不同括号的文号）。填入另一份文件的名称，保存时会把那份文件合并进来。",
    )

    class Meta:
        model = PolicyDocument
        fields = ["name", "kind", "aliases"]
        error_messages = {
            "name": {
                "unique": "已有同名的文件。如果两者是同一份文件，请在列表中选中它们，用“合并所选文件”合并。"
            }
        }

    def clean_name(self) -> str:
        return policy.policy_name_normalise(value=self.cleaned_data["name"])


class PolicyMentionInline(admin.TabularInline):
    model = PolicyMention
    fields = ["article", "raw"]
    autocomplete_fields = ["article"]
    extra = 0
    verbose_name = "提及文章"
    verbose_name_plural = "提及文章"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyMention]:
        qs = super().get_queryset(request).select_related("article")
        return qs.order_by("-article__published_on", "-id")


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(admin.ModelAdmin):
    form = PolicyDocumentForm
    list_display = ["name", "kind", "alias_list", "mention_count"]
    list_filter = ["kind"]
    # Aliases are JSON stored with escaped characters on some databases, so only names are searched.
    search_fields = ["name"]
    list_per_page = 100
    actions = ["merge"]
    inlines = [PolicyMentionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyDocument]:
        return super().get_queryset(request).annotate(mention_count=Count("mentions"))

    @admin.display(description="提及次数", ordering="mention_count")
    def mention_count(self, obj: PolicyDocument) -> int:
        return obj.mention_count

    @admin.display(description="别名")
    def alias_list(self, obj: PolicyDocument) -> str:
        return "、".join(obj.aliases or []) or "—"

    def save_model(self, request: HttpRequest, obj: PolicyDocument, form, change: bool) -> None:
        old_name = form.initial.get("name")
        # A renamed document keeps answering to its old name, so the next ingest does not recreate it.
        if change and "name" in form.changed_data and old_name and old_name not in obj.aliases:
            obj.aliases = [*obj.aliases, old_name]
        super().save_model(request, obj, form, change)
        merged = policy.policy_document_aliases_apply(document=obj)
        if merged:
            obj.refresh_from_db()
            self.message_user(request, f"已把 {merged} 份同名文件合并到“{obj.name}”。", messages.SUCCESS)

    @admin.action(description="合并所选文件", permissions=["change", "delete"])
    def merge(self, request: HttpRequest, queryset: QuerySet[PolicyDocument]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        target, merged = policy.policy_documents_merge_selected(document_ids=ids)
        if target is None:
            self.message_user(request, "请至少选择两份文件再合并。", messages.WARNING)
            return
        self.message_user(
            request, f"已将 {merged} 份文件合并到“{target.name}”（提及最多的一份）。", messages.SUCCESS
        )


# --- reposts ------------------------------------------------------------------------
