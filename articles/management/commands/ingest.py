from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from tqdm import tqdm

from articles import pipeline
from articles.ingest import ingest_run_dispatch, ingest_run_start, ingest_run_work_forked
from articles.inputs import inputs_from_paths
from articles.models import IngestItem, IngestRun
from articles.signals import changes_batched

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
        parser.add_argument(
            "--jobs",
            type=int,
            default=settings.INGEST_INLINE_JOBS,
            help="--sync 时同时处理的进程数（默认按 CPU 核数，最多 4）",
        )

    def handle(self, *args, **options) -> None:
        inline = options["sync"] or pipeline.tasks_inline()
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"用户 {options['user']} 不存在")
        show = not options["no_progress"]

        # Every file is recorded (its bytes in the database) before its message is sent, so a
        # crash of this command loses nothing; with a broker, workers start on the first
        # batch while the rest is read.
        with tqdm(desc="读取文件", unit="个", disable=not show, file=self.stderr._out) as bar:
            run = ingest_run_start(
                trigger=IngestRun.Trigger.COMMAND,
                sources=inputs_from_paths(paths=options["paths"]),
                paths=options["paths"],
                user=user,
                on_item=lambda: bar.update(1),
                wake=not inline,
            )

        if inline:
            total = run.outcome_counts()["total"]
            with (
                changes_batched(),
                tqdm(total=total, desc="导入", unit="篇", disable=not show, file=self.stderr._out) as bar,
            ):
                shown = [0.0]

                def show(*, force: bool = False) -> None:
                    # From the database (the other processes' items count too), twice a second;
                    # an archive that became its files changes the total.
                    now = time.monotonic()
                    if not force and now - shown[0] < 0.5:
                        return
                    shown[0] = now
                    counts = run.outcome_counts()
                    bar.total = counts["total"]
                    bar.update(counts["done"] - bar.n)

                ingest_run_work_forked(
                    run=run,
                    jobs=max(options["jobs"], 1),
                    on_item=lambda outcome: show(force=outcome == Outcome.EXPANDED),
                )
                show(force=True)
        else:
            woken = ingest_run_dispatch(run=run)
            pending = run.items.filter(outcome=Outcome.PENDING).count()
            if woken.error:
                # One plain line instead of a traceback: the items are stored, the sweep
                # sends them once the broker answers again.
                line = pipeline.BROKER_DOWN_MESSAGE.format(count=pending) + f"（批次 #{run.pk}）"
                if options["no_wait"]:
                    self.stdout.write(line)
                    return
                raise CommandError(line, returncode=1)
            # (workers woken while the files were read may have done some already)
            queued = run.items.filter(Q(queued_at__isnull=False) | Q(outcome=Outcome.PENDING)).count()
            self.stdout.write(f"已将 {queued} 个文件加入 ingest 队列（批次 #{run.pk}）")
            if options["no_wait"]:
                return
            self._wait(run=run, timeout=options["timeout"], show=show)

        self._summary(run=run)

    def _wait(self, *, run: IngestRun, timeout: float, show: bool) -> None:
        """Progress from the database; lost messages are sent again by the sweep (ours or beat's)."""
        deadline = time.monotonic() + timeout
        next_sweep = time.monotonic() + settings.PIPELINE_SWEEP_SECONDS
        with tqdm(desc="导入", unit="篇", disable=not show, file=self.stderr._out) as bar:
            while True:
                counts = run.outcome_counts()
                bar.total = counts["total"]
                bar.update(counts["done"] - bar.n)
                if counts[Outcome.PENDING] == 0:
                    return
                now = time.monotonic()
                if now > deadline:
                    raise CommandError(
                        f"等待超时：还有 {counts[Outcome.PENDING]} 个文件未处理，它们已记录在数据库中，"
                        f"worker 恢复后会继续处理（celery -A portal worker -Q ingest）。"
                        f"批次 #{run.pk} 的进度可在后台或用 pipeline_status 查看。"
                    )
                if now > next_sweep:
                    # Without beat running, nothing else would re-send a message Redis lost.
                    next_sweep = now + settings.PIPELINE_SWEEP_SECONDS
                    swept = pipeline.ingest_sweep()
                    bar.set_postfix_str("消息队列暂时无法连接，恢复后继续" if swept["unsent"] else "")
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
