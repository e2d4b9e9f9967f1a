from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from articles.models import Article
from articles.reposts import stories_rebuild


class Command(BaseCommand):
    help = "重新计算全部文章的 MinHash 指纹、分段和转载组（会覆盖后台手动合并或拆分的结果）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options) -> None:
        total = Article.objects.count()
        started = time.perf_counter()
        # Two passes over every article: fingerprints first, then the linking.
        with tqdm(
            total=total * 2,
            desc="计算转载组",
            unit="篇",
            disable=options["no_progress"],
            file=self.stderr._out,
        ) as bar:
            stories, members = stories_rebuild(progress=lambda: bar.update(1))
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"共 {total} 篇文章，形成 {stories} 个转载组，{members} 篇文章属于转载组；用时 {elapsed:.1f} 秒。"
        )
