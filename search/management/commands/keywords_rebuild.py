"""Fill or refresh the stored keywords of existing articles (ingest does it for new ones)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from articles.models import Article
from zhtext.keywords import keywords_json

BATCH_SIZE = 200


class Command(BaseCommand):
    help = "为已有文章提取关键词（jieba TF-IDF），写入文章的关键词字段。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--missing", action="store_true", help="只处理还没有关键词的文章")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options) -> None:
        articles = Article.objects.order_by("id")
        if options["missing"]:
            articles = articles.filter(keywords=[])
        total = articles.count()
        started = time.monotonic()
        changed = empty = 0
        batch: list[Article] = []
        bar = tqdm(
            total=total,
            desc="提取关键词",
            unit="篇",
            disable=options["no_progress"] or options["verbosity"] == 0,
            file=self.stderr._out,
        )
        # Only the fields needed; bulk_update skips save() so the search index is not touched
        # (keywords are not indexed).
        for article in articles.only("id", "title", "body_text", "keywords").iterator(chunk_size=BATCH_SIZE):
            keywords = keywords_json(title=article.title, text=article.body_text)
            if not keywords:
                empty += 1
            if keywords != article.keywords:
                article.keywords = keywords
                batch.append(article)
                changed += 1
            if len(batch) >= BATCH_SIZE:
                Article.objects.bulk_update(batch, ["keywords"])
                batch.clear()
            bar.update(1)
        if batch:
            Article.objects.bulk_update(batch, ["keywords"])
        bar.close()
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"处理 {total} 篇文章，更新 {changed} 篇，{empty} 篇没有提取到关键词，用时 {elapsed:.1f} 秒。"
        )
