"""Report articles missing from or stale in the search index; repair them with --fix."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from articles.pipeline import age_describe
from search.backlog import index_backlog_apply, index_backlog_status
from search.engines import engine_get
from search.search_indexes import articles_index_versions
from search.services import articles_index_sync

FIX_BATCH = 500


class Command(BaseCommand):
    help = "检查搜索索引：列出缺失、过期和多余的文章，加 --fix 修复。"

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="重建缺失和过期的文档，删除多余的文档")

    def handle(self, *args, fix: bool = False, **options):
        engine = engine_get()
        indexed = engine.documents_indexed()
        # (a document is stale when its row changed, or a name it holds did: a tag renamed)
        published = articles_index_versions()
        missing = sorted(set(published) - set(indexed))
        extra = sorted(set(indexed) - set(published))
        stale = sorted(pk for pk, version in published.items() if pk in indexed and indexed[pk] != version)
        self.stdout.write(
            f"已发布文章 {len(published)} 篇，索引中 {len(indexed)} 篇："
            f"缺失 {len(missing)}，过期 {len(stale)}，多余 {len(extra)}。"
        )
        for label, ids in (("缺失", missing), ("过期", stale), ("多余", extra)):
            if ids:
                shown = ", ".join(str(i) for i in ids[:20])
                more = " …" if len(ids) > 20 else ""
                self.stdout.write(f"  {label}：{shown}{more}")
        backlog = index_backlog_status()
        if backlog["backlog"]:
            waited = age_describe(backlog["oldest_seconds"])
            self.stdout.write(
                f"待更新索引 {backlog['backlog']} 篇（最早一项已等待 {waited}），"
                "由 index worker 处理；加 --fix 立即处理。"
            )
        health = engine.health()
        if health.detail:
            self.stdout.write(health.detail)
        if not health.schema_current:
            self.stdout.write(health.hint)
        todo = missing + stale + extra
        if not fix:
            if todo:
                self.stdout.write("加上 --fix 即可修复。")
            return
        if backlog["backlog"]:
            applied = index_backlog_apply(budget=float("inf"))
            self.stdout.write(
                f"已处理待更新索引：更新 {applied['updated']} 篇，删除 {applied['removed']} 篇。"
            )
        updated = removed = 0
        with tqdm(total=len(todo), unit="篇", desc="修复索引", disable=not todo) as bar:
            for i in range(0, len(todo), FIX_BATCH):
                chunk = todo[i : i + FIX_BATCH]
                result = articles_index_sync(ids=chunk)
                updated += result["updated"]
                removed += result["removed"]
                bar.update(len(chunk))
        self.stdout.write(self.style.SUCCESS(f"修复完成：更新 {updated} 篇，删除 {removed} 篇。"))
