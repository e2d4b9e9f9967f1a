"""Articles, sources, authors and tags: what editors curate every day."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from .. import pipeline, services
from ..models import Article, Author, Source, Tag
from ..untrusted import url_http_only


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
    # (an autocomplete in Chinese, not the untranslated two-box filter widget)
    autocomplete_fields = ["source", "authors", "tags"]
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
        # (a count drops the model's ordering: the autocomplete's pages need one)
        return super().get_queryset(request).annotate(article_count=Count("articles")).order_by("name", "pk")

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
    ordering = ["name"]  # (the article form's tag autocomplete pages through them)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(article_count=Count("articles"))

    @admin.display(description="文章数", ordering="article_count")
    def article_count(self, obj: Tag) -> int:
        return obj.article_count
