"""Policy documents: the record's fields, names and aliases, merges and splits."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from .. import policy, policy_fields
from ..models import PolicyDocument, PolicyMention


class _LinesField(forms.CharField):
    """A list edited one item per line (、 and ， separate too), each normalised."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def normalise(self, value: str) -> str:
        return value.strip()

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        items: list[str] = []
        for line in (value or "").replace("、", "\n").replace("，", "\n").splitlines():
            item = self.normalise(line) if line.strip() else ""
            if item and item not in items:
                items.append(item)
        return items


class PolicyAliasesField(_LinesField):
    """Aliases: each normalised like an extracted name so it can match."""

    def normalise(self, value: str) -> str:
        return policy.policy_name_normalise(value=value)


class IssuersField(_LinesField):
    """Issuing bodies by their full names (工信部 → 工业和信息化部)."""

    def normalise(self, value: str) -> str:
        return policy_fields.issuer_normalise(name=value)


class PolicyDocumentForm(forms.ModelForm):
    aliases = PolicyAliasesField(
        label="别名",
        required=False,
        help_text="每行一个其他写法（简称、英文缩写、不同括号的文号）。填入另一份文件的名称，保存时会把那份文件合并进来。",
    )
    issuers = IssuersField(label="发文机关", required=False, help_text="每行一个；联合发文按文件所列顺序。")
    split_names = _LinesField(
        label="拆分出去的名称",
        required=False,
        help_text="每行一个本文件的别名、标题或文号：保存后它们各成一份文件，以后也不会再自动合并回来。",
    )

    class Meta:
        model = PolicyDocument
        fields = ["name", *policy.OFFICIAL_FIELDS, "status", "official_article", "aliases", "kept_apart"]
        widgets = {"kept_apart": forms.HiddenInput()}
        error_messages = {
            "name": {
                "unique": "已有同名的文件。如果两者是同一份文件，请在列表中选中它们，用“合并所选文件”合并。"
            }
        }

    def clean_name(self) -> str:
        return policy.policy_name_normalise(value=self.cleaned_data["name"])

    def clean_doc_number(self) -> str:
        value = self.cleaned_data["doc_number"].strip()
        return policy.policy_name_normalise(value=value) if value else ""


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
    list_display = ["name", "doc_number", "issuer_list", "category", "status", "signed_on", "mention_count"]
    list_filter = ["category", "status", "topic", "kind"]
    # Aliases are JSON (stored escaped on some databases): names, titles and numbers are searched.
    search_fields = ["name", "title", "doc_number"]
    list_per_page = 100
    actions = ["merge"]
    autocomplete_fields = ["official_article"]
    inlines = [PolicyMentionInline]
    fieldsets = [
        (None, {"fields": ["name", "aliases", "split_names", "kept_apart"]}),
        (
            "文件信息（编辑填写的字段，重算时不再覆盖）",
            {
                "fields": [
                    "title",
                    "doc_number",
                    "issuers",
                    "category",
                    ("signed_on", "published_on", "effective_on", "expires_on"),
                    "status",
                    "topic",
                    "official_article",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PolicyDocument]:
        return super().get_queryset(request).annotate(mention_count=Count("mentions"))

    @admin.display(description="提及次数", ordering="mention_count")
    def mention_count(self, obj: PolicyDocument) -> int:
        return obj.mention_count

    @admin.display(description="发文机关")
    def issuer_list(self, obj: PolicyDocument) -> str:
        return "、".join(obj.issuers or []) or "—"

    def save_model(self, request: HttpRequest, obj: PolicyDocument, form, change: bool) -> None:
        old_name = form.initial.get("name")
        # A renamed document keeps answering to its old name, so the next ingest does not recreate it.
        if change and "name" in form.changed_data and old_name and old_name not in obj.aliases:
            obj.aliases = [*obj.aliases, old_name]
        # What an editor sets is theirs: policy_rebuild and the next ingest leave it alone.
        chosen = [
            f for f in form.changed_data if f in (*policy.OFFICIAL_FIELDS, "status", "official_article")
        ]
        obj.editor_fields = sorted({*(obj.editor_fields or []), *chosen})
        super().save_model(request, obj, form, change)
        policy.policy_names_sync(documents=[obj])
        merged = policy.policy_document_aliases_apply(document=obj)
        if merged:
            obj.refresh_from_db()
            self.message_user(request, f"已把 {merged} 份同名文件合并到“{obj.name}”。", messages.SUCCESS)
        split = form.cleaned_data.get("split_names") or []
        if split:
            created = policy.policy_document_split(document_id=obj.pk, names=split)
            names = "、".join(doc.name for doc in created)
            self.message_user(request, f"已拆分为独立文件：{names}。", messages.SUCCESS)

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
