"""Ingest runs and items: uploads, progress, retries."""

from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, QuerySet, When
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse

from .. import ingest, pipeline
from ..inputs import input_from_bytes
from ..models import IngestItem, IngestRun

Outcome = IngestItem.Outcome


class IngestItemInline(admin.TabularInline):
    model = IngestItem
    fields = ["path", "outcome", "reason", "article", "size", "attempts", "finished_at"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[IngestItem]:
        # Failures first: they are what a person opens a run to look at.
        qs = super().get_queryset(request).select_related("article").defer("raw")
        return qs.annotate(failed_last=Case(When(outcome=Outcome.FAILED, then=0), default=1)).order_by(
            "failed_last", "id"
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field, as Django's documentation shows for multiple uploads."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".md,.markdown,.zip"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class UploadForm(forms.Form):
    files = MultipleFileField(label="文件", help_text="Markdown 文章（.md）或打包的 .zip；可多选。")

    def clean_files(self):
        uploads = self.cleaned_data["files"]
        for upload in uploads:
            if not upload.name.lower().endswith((".md", ".markdown", ".zip")):
                raise forms.ValidationError(f"{upload.name} 不是 .md 或 .zip 文件。")
        return uploads


@admin.register(IngestRun)
class IngestRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "trigger", "created_by", "created_at", "progress"]
    list_filter = ["trigger"]
    readonly_fields = ["trigger", "created_by", "paths", "created_at", "progress"]
    inlines = [IngestItemInline]
    change_form_template = "admin/articles/ingestrun/change_form.html"
    change_list_template = "admin/articles/ingestrun/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="进度")
    def progress(self, obj: IngestRun) -> str:
        c = obj.outcome_counts()
        return (
            f"{c['done']}/{c['total']}：新建 {c[Outcome.CREATED]}，更新 {c[Outcome.UPDATED]}，"
            f"未变化 {c[Outcome.UNCHANGED]}，失败 {c[Outcome.FAILED]}"
        )

    def get_urls(self):
        return [
            path("upload/", self.admin_site.admin_view(self.upload_view), name="articles_ingestrun_upload"),
            path(
                "<int:run_id>/progress.json",
                self.admin_site.admin_view(self.progress_view),
                name="articles_ingestrun_progress",
            ),
            path(
                "<int:run_id>/step.json",
                self.admin_site.admin_view(self.step_view),
                name="articles_ingestrun_step",
            ),
            *super().get_urls(),
        ]

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("articles.add_article"):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            uploads = form.cleaned_data["files"]
            # Store and return: archives are unpacked and files processed by the workers (or,
            # without a broker, by the run page in short steps), never inside this request.
            run = ingest.ingest_run_start(
                trigger=IngestRun.Trigger.UPLOAD,
                sources=(input_from_bytes(path=f"上传：{u.name}", size=u.size, read=u.read) for u in uploads),
                paths=[u.name for u in uploads],
                user=request.user,
            )
            self._dispatch(request, run=run)
            return HttpResponseRedirect(reverse("admin:articles_ingestrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "上传文章",
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/articles/ingestrun/upload.html", context)

    def _dispatch(self, request: HttpRequest, *, run: IngestRun) -> None:
        woken = ingest.ingest_run_dispatch(run=run)
        if woken is None:
            self.message_user(request, f"已保存：批次 #{run.pk}，正在本页逐步处理。", messages.SUCCESS)
            return
        if woken.error:
            self.message_user(
                request,
                f"文件已保存（批次 #{run.pk}），但消息队列暂时无法连接："
                "队列恢复后由 worker 自动处理，不会丢失。",
                messages.WARNING,
            )
            return
        self.message_user(request, f"已加入导入队列：批次 #{run.pk}。", messages.SUCCESS)

    def _progress(self, run: IngestRun) -> JsonResponse:
        counts = run.outcome_counts()
        return JsonResponse(
            {
                "id": run.pk,
                "finished": counts[Outcome.PENDING] == 0,
                "inline": pipeline.tasks_inline(),
                **counts,
            }
        )

    def progress_view(self, request: HttpRequest, run_id: int) -> JsonResponse:
        return self._progress(get_object_or_404(IngestRun, pk=run_id))

    def step_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        """Inline mode: process the run's pending items for a few seconds, then report progress."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("articles.add_article"):
            raise PermissionDenied
        run = get_object_or_404(IngestRun, pk=run_id)
        if pipeline.tasks_inline():
            ingest.ingest_run_work(run=run, seconds=settings.INGEST_INLINE_STEP_SECONDS)
        return self._progress(run)

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        status = pipeline.ingest_pipeline_status()
        status["oldest"] = pipeline.age_describe(status["oldest_pending_seconds"])
        extra_context = {**(extra_context or {}), "pipeline": status}
        return super().changelist_view(request, extra_context)


@admin.register(IngestItem)
class IngestItemAdmin(admin.ModelAdmin):
    list_display = ["path", "run", "outcome", "reason", "article", "attempts", "finished_at"]
    list_filter = ["outcome", "kind", "run__trigger"]
    list_select_related = ["run", "article"]
    search_fields = ["path", "reason"]
    readonly_fields = [
        "run",
        "kind",
        "parent",
        "path",
        "size",
        "outcome",
        "reason",
        "article",
        "attempts",
        "queued_at",
        "claimed_by",
        "claimed_until",
        "created_at",
        "finished_at",
    ]
    exclude = ["raw", "claim_token"]
    actions = ["retry"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[IngestItem]:
        return super().get_queryset(request).defer("raw")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="重新处理所选的失败文件", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[IngestItem]) -> None:
        ids = ingest.ingest_items_reset(item_ids=queryset.values_list("id", flat=True))
        if pipeline.tasks_inline():
            # No workers: as much as fits in one step here, the rest on their runs' pages.
            deadline = time.monotonic() + settings.INGEST_INLINE_STEP_SECONDS
            outcomes = []
            for item_id in ids:
                if time.monotonic() > deadline:
                    break
                outcomes.append(ingest.ingest_item_process(item_id=item_id, inline=True))
            left = len(ids) - len(outcomes)
            message = f"已重新处理 {len(outcomes)} 个文件，其中 {outcomes.count(Outcome.FAILED)} 个仍然失败。"
            if left:
                message += f"其余 {left} 个已标为待处理，打开它们所在的导入批次页面即可继续处理。"
            self.message_user(request, message, messages.SUCCESS)
            return
        woken = pipeline.ingest_items_wake(item_ids=ids)
        if woken.error:
            self.message_user(
                request,
                f"已把 {len(ids)} 个文件重新标为待处理，但消息队列暂时无法连接：队列恢复后自动处理。",
                messages.WARNING,
            )
            return
        self.message_user(request, f"已重新排队 {len(ids)} 个失败文件。", messages.SUCCESS)


# --- Policy documents ----------------------------------------------------------------------------
