from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Q
from tqdm import tqdm

from articles.models import Article, PolicyDocument, PolicyMention
from articles.policy import articles_policy_sync, policy_names_sync, policy_seeds_apply

BATCH = 200


class Command(BaseCommand):
    help = (
        "重新计算政策文件库：种子文件及其别名、每篇文章提及的文件、政策原文的字段（文号、发文机关、日期、时效）"
        "和引用关系。可重复运行；编辑在后台做的合并、拆分和填写的字段都会保留。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune", action="store_true", help="删除重算后没有任何文章提及、没有原文、也没有别名的文件"
        )
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options) -> None:
        before = PolicyMention.objects.count()
        records_before = PolicyDocument.objects.count()
        seeded = policy_seeds_apply()
        # Statuses read from texts (废止, 修订) are read again from the texts; an editor's stay.
        stated = PolicyDocument.objects.exclude(status="").values_list("id", "editor_fields")
        PolicyDocument.objects.filter(
            id__in=[pk for pk, fields in stated if "status" not in (fields or [])]
        ).update(status="")
        ids = list(Article.objects.order_by("id").values_list("id", flat=True))
        progress = tqdm(
            total=len(ids),
            desc="重算政策文件",
            unit="篇",
            disable=options["no_progress"],
            file=self.stderr._out,
        )
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            # One transaction per batch: an interrupted rebuild leaves every article consistent.
            with transaction.atomic():
                articles = list(
                    Article.objects.filter(id__in=chunk)
                    .only("id", "title", "body_text", "raw_text", "published_on")
                    .order_by("id")
                )
                articles_policy_sync(articles=articles)
            progress.update(len(chunk))
        progress.close()
        policy_names_sync(documents=PolicyDocument.objects.all())
        pruned = 0
        if options["prune"]:
            pruned, _ = PolicyDocument.objects.filter(
                Q(mentions__isnull=True) & Q(official_article__isnull=True) & Q(aliases=[])
            ).delete()
        after = PolicyMention.objects.count()
        records = PolicyDocument.objects.count()
        official = PolicyDocument.objects.filter(official_article__isnull=False).count()
        self.stdout.write(
            f"已处理 {len(ids)} 篇文章：提及 {before} → {after} 条；政策文件 {records_before} → {records} 份"
            f"（有原文 {official} 份，新建种子 {seeded} 份），删除无人提及的文件 {pruned} 份"
        )
