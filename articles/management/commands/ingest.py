from __future__ import annotations

import time
from functools import partial

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from articles.models import IngestItem, IngestRun
from articles.services import (
    ingest_inputs_iter,
    ingest_item_add,
    ingest_item_enqueue,
    ingest_item_process,
    ingest_run_create,
    run_article_ids,
)
from portal.celery import app as celery_app
from search.bulk import index_updates_batched

Outcome = IngestItem.Outcome


class Command(BaseCommand):
    help = "导入 Markdown 文章：文件、文件夹或 .zip 压缩包。有消息队列时交给 ingest 队列的 worker 处理。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", help="文件、文件夹或 .zip 压缩包")
        parser.add_argument("--sync", action="store_true", help="在本进程内直接处理，不经过消息队列")
        parser.add_argument("--no-wait", action="store_true", help="入队后立即返回，不等待 worker 处理完")
        parser.add_argument("--timeout", type=float, default=3600.0, help="等待 worker 的最长秒数")
        parser.add_argument("--user", help="记录为发起人的用户名")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options) -> None:
        inline = options["sync"] or celery_app.conf.task_always_eager
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"用户 {options['user']} 不存在")
        run = ingest_run_create(trigger=IngestRun.Trigger.COMMAND, paths=options["paths"], user=user)
        show = not options["no_progress"]

        # Reading every file first keeps the queue busy from the first second and means a
        # crash of this command after this point loses nothing: the bytes are in the database.
        pending: list[int] = []
        for source in tqdm(
            ingest_inputs_iter(paths=options["paths"]),
            desc="读取文件",
            unit="个",
            disable=not show,
            file=self.stderr._out,
        ):
            item = ingest_item_add(run=run, source=source)
            if item.outcome == Outcome.PENDING:
                pending.append(item.id)

        if inline:
            touched = partial(run_article_ids, run=run)
            with index_updates_batched(touched_ids=touched):
                for item_id in tqdm(pending, desc="导入", unit="篇", disable=not show, file=self.stderr._out):
                    ingest_item_process(item_id=item_id)
        else:
            for item_id in pending:
                ingest_item_enqueue(item_id=item_id)
            self.stdout.write(f"已将 {len(pending)} 个文件加入 ingest 队列（批次 #{run.pk}）")
            if options["no_wait"]:
                return
            self._wait(run=run, total=len(pending), timeout=options["timeout"], show=show)

        self._summary(run=run)

    def _wait(self, *, run: IngestRun, total: int, timeout: float, show: bool) -> None:
        deadline = time.monotonic() + timeout
        with tqdm(total=total, desc="导入", unit="篇", disable=not show, file=self.stderr._out) as bar:
            while True:
                left = run.items.filter(outcome=Outcome.PENDING).count()
                bar.update(total - left - bar.n)
                if left == 0:
                    return
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"等待超时：还有 {left} 个文件未处理。worker 是否在运行？"
                        f"（celery -A portal worker -Q ingest）批次 #{run.pk} 的进度可在后台查看。"
                    )
                time.sleep(0.5)

    def _summary(self, *, run: IngestRun) -> None:
        counts = run.outcome_counts()
        self.stdout.write(
            f"批次 #{run.pk}：共 {counts['total']} 个文件 — 新建 {counts[Outcome.CREATED]}，"
            f"更新 {counts[Outcome.UPDATED]}，未变化 {counts[Outcome.UNCHANGED]}，"
            f"失败 {counts[Outcome.FAILED]}"
        )
        failed = run.items.filter(outcome=Outcome.FAILED).values_list("path", "reason")
        for path, reason in failed:
            self.stderr.write(f"  失败 {path}：{reason}")
        if counts[Outcome.FAILED]:
            raise CommandError(f"{counts[Outcome.FAILED]} 个文件导入失败（见上）", returncode=1)
