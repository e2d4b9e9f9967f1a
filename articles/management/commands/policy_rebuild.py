from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from tqdm import tqdm

from articles.models import Article, PolicyDocument, PolicyMention
from articles.policy import article_policy_mentions_sync


class Command(BaseCommand):
    help = "重新计算所有文章提及的政策文件（提取规则或别名修改后使用）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune", action="store_true", help="删除重算后没有任何文章提及、也没有别名的文件"
        )
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options) -> None:
        before = PolicyMention.objects.count()
        ids = list(Article.objects.order_by("id").values_list("id", flat=True))
        for article_id in tqdm(
            ids, desc="重算提及", unit="篇", disable=options["no_progress"], file=self.stderr._out
        ):
            # One transaction per article: an interrupted rebuild leaves every article consistent.
            with transaction.atomic():
                article = Article.objects.only("id", "title", "body_text").filter(id=article_id).first()
                if article is not None:
                    article_policy_mentions_sync(article=article)
        pruned = 0
        if options["prune"]:
            pruned, _ = PolicyDocument.objects.filter(mentions__isnull=True, aliases=[]).delete()
        after = PolicyMention.objects.count()
        with_mentions = PolicyDocument.objects.filter(mentions__isnull=False).distinct().count()
        self.stdout.write(
            f"已处理 {len(ids)} 篇文章：提及 {before} → {after} 条，"
            f"被提及的文件 {with_mentions} 份，删除无人提及的文件 {pruned} 份"
        )
