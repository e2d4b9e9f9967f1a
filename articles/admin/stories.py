"""Stories (repost groups) and the article actions that regroup them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest

from .. import reposts
from ..models import Article, Story
from . import content


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
content.ArticleAdmin.actions = [*content.ArticleAdmin.actions, story_merge, story_detach]
