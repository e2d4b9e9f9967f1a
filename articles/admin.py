from __future__ import annotations

import time

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, Exists, OuterRef, Prefetch, QuerySet, When
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from . import ingest, pipeline, policy, reposts, services
from .inputs import input_from_bytes
from .models import Article, Author, IngestItem, IngestRun, PolicyDocument, PolicyMention, Source, Story, Tag
from .untrusted import url_http_only

Outcome = IngestItem.Outcome


class HasAuthorFilter(admin.SimpleListFilter):
    title = "是否有作者"
    parameter_name = "has_author"

    def lookups(self, request, model_admin):
        return [("yes", "有作者"), ("no", "无作者")]

    def queryset(self, request, queryset):
        has_author = Exists(Article.authors.through.objects.filter(article_id=OuterRef("pk")))
        if self.value() == "yes":
            return queryset.filter(has_author)
        if self.value() == "no":
            return queryset.exclude(has_author)
        return queryset


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "source", "published_on", "author_names", "status", "featured"]
    list_display_links = ["title"]
    list_filter = ["status", "featured", HasAuthorFilter, "source"]
    list_select_related = ["source"]
    list_per_page = 50
    date_hierarchy = "published_on"
    search_fields = ["title"]
    autocomplete_fields = ["source", "authors"]
    filter_horizontal = ["tags"]
    actions = ["publish", "hide", "feature", "unfeature", "reclean"]
    readonly_fields = [
        "raw_text",
        "url_key",
        "content_hash",
        "canonical_url",
        "created_at",
        "updated_at",
        "original_link",
        "ingest_notes",
    ]
    fieldsets = [
        (None, {"fields": ["title", "source", "authors", "tags", "published_on", "status", "featured"]}),
        (
            "出处",
            {
                "fields": [
                    "original_link",
                    "canonical_url",
                    "attribution",
                    "fetched_at",
                    "cover_image",
                    "ingest_notes",
                ]
            },
        ),
        ("正文", {"fields": ["summary", ("body_markdown", "raw_text")], "classes": ["wide"]}),
        (
            "记录",
            {
                "fields": ["url", "url_key", "content_hash", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]

    class Media:
        css = {"all": ["css/admin_article.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return super().get_queryset(request).prefetch_related("authors")

    @admin.display(description="作者")
    def author_names(self, obj: Article) -> str:
        return "、".join(a.name for a in obj.authors.all())

    @admin.display(description="原文")
    def original_link(self, obj: Article) -> str:
        # Rows stored before ingest checked the scheme may hold "javascript:..."; show it, never link it.
        href = url_http_only(value=obj.url)
        if not href:
            return obj.url or "—"
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', href, href)

    @admin.display(description="导入提示")
    def ingest_notes(self, obj: Article) -> str:
        # What the latest ingest of this article had to repair (a bad date, a dropped link, ...),
        # so an editor sees it where they would correct it.
        item = obj.ingest_items.order_by("-id").only("reason").first()
        if item is None or not item.reason:
            return "—"
        return format_html_join(mark_safe("<br>"), "{}", ((note,) for note in item.reason.split("；")))

    @admin.action(description="发布所选文章", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        n = services.articles_status_set(
            article_ids=queryset.values_list("id", flat=True), status="published"
        )
        self.message_user(request, f"已发布 {n} 篇文章。", messages.SUCCESS)

    @admin.action(description="隐藏所选文章", permissions=["change"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        n = services.articles_status_set(article_ids=queryset.values_list("id", flat=True), status="hidden")
        self.message_user(request, f"已隐藏 {n} 篇文章。", messages.SUCCESS)

    @admin.action(description="设为精选", permissions=["change"])
    def feature(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        n = services.articles_featured_set(article_ids=queryset.values_list("id", flat=True), featured=True)
        self.message_user(request, f"已将 {n} 篇文章设为精选。", messages.SUCCESS)

    @admin.action(description="取消精选", permissions=["change"])
    def unfeature(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        n = services.articles_featured_set(article_ids=queryset.values_list("id", flat=True), featured=False)
        self.message_user(request, f"已取消 {n} 篇文章的精选。", messages.SUCCESS)

    @admin.action(description="用保存的原始文件重新清洗", permissions=["change"])
    def reclean(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        if pipeline.tasks_inline():
            changed = sum(services.article_reclean(article_id=article_id) for article_id in ids)
            self.message_user(
                request, f"已重新清洗 {len(ids)} 篇文章，其中 {changed} 篇有变化。", messages.SUCCESS
            )
            return
        for sent, article_id in enumerate(ids):
            try:
                pipeline.send_task(
                    name="articles.tasks.reclean_article", queue="ingest", kwargs={"article_id": article_id}
                )
            except pipeline.BrokerUnavailable:
                self.message_user(
                    request,
                    f"消息队列暂时无法连接：已安排 {sent} 篇，"
                    f"其余 {len(ids) - sent} 篇没有安排，请稍后再试。",
                    messages.ERROR,
                )
                return
        self.message_user(request, f"已安排重新清洗 {len(ids)} 篇文章。", messages.SUCCESS)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "article_count"]
    search_fields = ["name", "site"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Source]:
        return super().get_queryset(request).annotate(article_count=Count("articles"))

    @admin.display(description="文章数", ordering="article_count")
    def article_count(self, obj: Source) -> int:
        return obj.article_count


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "article_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Author]:
        return super().get_queryset(request).annotate(article_count=Count("articles"))

    @admin.display(description="文章数", ordering="article_count")
    def article_count(self, obj: Author) -> int:
        return obj.article_count


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "article_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(article_count=Count("articles"))

    @admin.display(description="文章数", ordering="article_count")
    def article_count(self, obj: Tag) -> int:
        return obj.article_count


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


class StoryArticleInline(admin.TabularInline):
    model = Article
    fields = ["title", "source", "published_on", "status"]
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ["published_on", "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return (
            super()
            .get_queryset(request)
            .select_related("source")
            .only("id", "title", "source__name", "published_on", "status", "story_id")
        )


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    """Clusters of reposts. Created by ingest or by merging articles; split from the article list."""

    list_display = ["__str__", "first_title", "article_count", "source_names", "created_at"]
    readonly_fields = ["created_at"]
    inlines = [StoryArticleInline]
    search_fields = ["articles__title"]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Story]:
        members = (
            Article.objects.select_related("source")
            .only("id", "title", "published_on", "story_id", "source__name")
            .order_by("published_on", "id")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(article_count=Count("articles", distinct=True))
            .prefetch_related(Prefetch("articles", queryset=members, to_attr="members"))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="文章数", ordering="article_count")
    def article_count(self, obj: Story) -> int:
        return obj.article_count

    @admin.display(description="最早的标题")
    def first_title(self, obj: Story) -> str:
        return obj.members[0].title if obj.members else "—"

    @admin.display(description="来源")
    def source_names(self, obj: Story) -> str:
        return "、".join(dict.fromkeys(a.source.name for a in obj.members))


@admin.action(description="合并为同一转载组", permissions=["change"])
def story_merge(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Article]) -> None:
    story = reposts.stories_merge(article_ids=queryset.values_list("id", flat=True))
    if story is None:
        modeladmin.message_user(request, "请至少选择两篇文章再合并。", messages.WARNING)
        return
    n = story.articles.count()
    modeladmin.message_user(request, f"已合并为{story}，共 {n} 篇文章。", messages.SUCCESS)


@admin.action(description="移出转载组", permissions=["change"])
def story_detach(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Article]) -> None:
    n = reposts.articles_story_detach(article_ids=queryset.values_list("id", flat=True))
    if n == 0:
        modeladmin.message_user(request, "所选文章都不在转载组中。", messages.WARNING)
        return
    modeladmin.message_user(request, f"已将 {n} 篇文章移出转载组。", messages.SUCCESS)


# Appended here rather than in the class body so the repost actions stay in one block.
ArticleAdmin.actions = [*ArticleAdmin.actions, story_merge, story_detach]
